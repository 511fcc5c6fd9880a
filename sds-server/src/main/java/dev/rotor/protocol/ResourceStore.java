package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The one owner of "what is served now". Writers swap an immutable {@link XdsState} in whole;
 * streams read it when they flush, so a burst of changes coalesces newest-wins per stream.
 */
public final class ResourceStore {

  /** Told that the state changed; must only schedule work, never do it inline. */
  public interface Listener {
    void stateChanged();
  }

  private final AtomicReference<XdsState> current;
  private final Set<Listener> listeners = ConcurrentHashMap.newKeySet();

  public ResourceStore(XdsState initial) {
    this.current = new AtomicReference<>(requireNonNull(initial, "initial"));
  }

  public XdsState current() {
    return current.get();
  }

  /** Publishes a new state and tells every listener. */
  public void publish(XdsState state) {
    current.set(requireNonNull(state, "state"));
    for (Listener l : listeners) {
      l.stateChanged();
    }
  }

  public void addListener(Listener l) {
    listeners.add(requireNonNull(l, "l"));
  }

  public void removeListener(Listener l) {
    listeners.remove(l);
  }

  public int listenerCount() {
    return listeners.size();
  }
}
