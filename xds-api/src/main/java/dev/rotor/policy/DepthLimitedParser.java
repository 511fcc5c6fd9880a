package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import java.util.OptionalInt;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.parser.Parser;

/**
 * A YAML event stream that ends in {@link TooDeep} once lists and mappings nest deeper than a
 * limit.
 *
 * <p>Why: snakeyaml-engine's composer builds the node tree by recursion, one set of stack frames
 * per level, and has no depth limit of its own (3.2's {@code LoadSettings} limits code points and
 * aliases only). 3,000 nested {@code [} (6 KB) overflowed the stack of rotor serve's policy
 * watcher (issue 13, finding 9). The scanner and parser underneath keep their nesting in explicit
 * stacks, so counting here, between parser and composer, stops a deep document before the
 * recursion that would overflow begins.
 */
final class DepthLimitedParser implements Parser {

  /** The document nests deeper than allowed; {@code line} is 1-based, where the limit was crossed. */
  static final class TooDeep extends YamlEngineException {
    private static final long serialVersionUID = 1L;
    private final transient OptionalInt line;

    TooDeep(OptionalInt line) {
      super("nesting too deep");
      this.line = line;
    }

    OptionalInt line() {
      return line;
    }
  }

  private final Parser delegate;
  private final int maxDepth;
  private int depth;

  DepthLimitedParser(Parser delegate, int maxDepth) {
    this.delegate = requireNonNull(delegate, "delegate");
    if (maxDepth < 1) {
      throw new IllegalArgumentException("maxDepth: " + maxDepth + " (expected: > 0)");
    }
    this.maxDepth = maxDepth;
  }

  @Override
  public boolean checkEvent(Event.ID id) {
    return delegate.checkEvent(id);
  }

  @Override
  public Event peekEvent() {
    return delegate.peekEvent();
  }

  @Override
  public boolean hasNext() {
    return delegate.hasNext();
  }

  @Override
  public Event next() {
    Event e = delegate.next();
    switch (e.getEventId()) {
      case SequenceStart, MappingStart -> {
        if (++depth > maxDepth) {
          throw new TooDeep(e.getStartMark().map(m -> OptionalInt.of(m.getLine() + 1)).orElse(OptionalInt.empty()));
        }
      }
      case SequenceEnd, MappingEnd -> depth--;
      default -> {
        // scalars, aliases, document and stream events do not nest
      }
    }
    return e;
  }
}
