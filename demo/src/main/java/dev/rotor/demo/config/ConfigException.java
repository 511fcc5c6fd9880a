package dev.rotor.demo.config;

import java.util.List;

/**
 * The environment does not describe a runnable program: every problem found, one per line, each
 * naming the variable, the bad value and what was expected.
 */
public final class ConfigException extends RuntimeException {
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
