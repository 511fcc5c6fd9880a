package dev.rotor.protocol;

import dev.rotor.xds.Resource;
import java.util.List;
import java.util.Optional;

/** What one stream may see of one resource type at one moment. Immutable. */
public interface TypeView {

  Optional<Resource> get(String name);

  /** What a wildcard subscription receives. */
  List<Resource> wildcard();

  /**
   * True for LDS and CDS: every state-of-the-world response carries the full subscribed set and an
   * absent resource means deleted (xds-protocol rule 13). False for SDS, RDS, EDS (rule 10).
   */
  boolean fullState();

  /**
   * Why {@code name}, which {@link #get} does not have, is not there: for the log line and the
   * status, so an operator reads what is actually missing. The default says it may still appear.
   */
  default String whyAbsent(String name) {
    return "it does not exist (yet); it will be pushed when it appears";
  }

  static TypeView empty(boolean fullState) {
    return new TypeView() {
      @Override
      public Optional<Resource> get(String name) {
        return Optional.empty();
      }

      @Override
      public List<Resource> wildcard() {
        return List.of();
      }

      @Override
      public boolean fullState() {
        return fullState;
      }
    };
  }
}
