package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

/** One row of the demo's {@code orders} table. */
public record Order(long id, String item, int quantity, String customer) {
  public Order {
    requireNonNull(item, "item");
    requireNonNull(customer, "customer");
  }
}
