package dev.rotor.source.workload;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.source.IdentityListener;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what a source delivers, for assertions from the test thread. */
final class RecordingListener implements IdentityListener {

  record Error(String reason, Throwable cause) {}

  final List<IdentitySnapshot> snapshots = new CopyOnWriteArrayList<>();
  final List<Error> errors = new CopyOnWriteArrayList<>();

  @Override
  public void onSnapshot(IdentitySnapshot candidate) {
    snapshots.add(candidate);
  }

  @Override
  public void onSourceError(String reason, Throwable cause) {
    errors.add(new Error(reason, cause));
  }

  IdentitySnapshot lastSnapshot() {
    return snapshots.get(snapshots.size() - 1);
  }

  Error lastError() {
    return errors.get(errors.size() - 1);
  }
}
