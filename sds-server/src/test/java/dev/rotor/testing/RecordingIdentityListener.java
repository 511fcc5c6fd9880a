package dev.rotor.testing;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.source.IdentityListener;
import java.util.ArrayList;
import java.util.List;

/** Records what a source delivers, for assertions after the fact (never inside callbacks). */
public final class RecordingIdentityListener implements IdentityListener {

  private final List<IdentitySnapshot> snapshots = new ArrayList<>();
  private final List<String> errors = new ArrayList<>();

  @Override
  public synchronized void onSnapshot(IdentitySnapshot candidate) {
    snapshots.add(candidate);
  }

  @Override
  public synchronized void onSourceError(String reason, Throwable cause) {
    errors.add(reason);
  }

  public synchronized List<IdentitySnapshot> snapshots() {
    return List.copyOf(snapshots);
  }

  public synchronized IdentitySnapshot last() {
    if (snapshots.isEmpty()) {
      throw new AssertionError("no snapshot was delivered");
    }
    return snapshots.get(snapshots.size() - 1);
  }

  public synchronized List<String> errors() {
    return List.copyOf(errors);
  }
}
