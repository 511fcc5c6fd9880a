package dev.rotor.gate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.testing.FakeScheduler;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Records what the gate serves and when (fake time), for assertions after the fact. */
final class RecordingServedListener implements ServedIdentityListener {

  private record Served(IdentitySnapshot snapshot, Instant at) {}

  private final FakeScheduler scheduler;
  private final List<Served> served = new ArrayList<>();

  RecordingServedListener(FakeScheduler scheduler) {
    this.scheduler = scheduler;
  }

  @Override
  public synchronized void onServed(IdentitySnapshot snapshot) {
    served.add(new Served(snapshot, scheduler.now()));
  }

  synchronized List<IdentitySnapshot> served() {
    return served.stream().map(Served::snapshot).toList();
  }

  synchronized IdentitySnapshot last() {
    assertThat(served).as("served snapshots").isNotEmpty();
    return served.get(served.size() - 1).snapshot();
  }

  /** Every SVID of every served snapshot was valid at the moment it was served. */
  synchronized void assertNothingServedWhileExpired(String msg) {
    for (Served s : served) {
      for (Svid svid : s.snapshot().svids()) {
        assertThat(s.at()).as(msg + ": " + svid + " served at " + s.at()).isBefore(svid.notAfter());
        assertThat(s.at()).as(msg + ": " + svid + " served at " + s.at()).isAfterOrEqualTo(svid.notBefore());
      }
    }
  }
}
