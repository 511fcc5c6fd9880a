package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which UIDs may connect to the Unix socket at all (SO_PEERCRED). A pod-local Rotor admits a list;
 * a node-mode Rotor may admit any UID, because every caller is then attested by SPIRE from its PID
 * and gets only what SPIRE issued to it ({@link PeerAttestor}).
 */
public sealed interface AllowedUids permits AllowedUids.Only, AllowedUids.Any {

  boolean allows(int uid);

  /** These UIDs; never empty. */
  static AllowedUids only(Set<Integer> uids) {
    return new Only(uids);
  }

  /** Any UID: only for a socket whose callers are attested ({@link UdsServer#start} with an attestor). */
  static AllowedUids any() {
    return Any.INSTANCE;
  }

  /** A fixed list of UIDs. */
  record Only(Set<Integer> uids) implements AllowedUids {
    public Only {
      requireNonNull(uids, "uids");
      if (uids.isEmpty()) {
        throw new IllegalArgumentException("allowedUids: empty (expected: at least one UID, e.g. Rotor's own)");
      }
      for (Integer uid : uids) {
        if (uid == null || uid < 0) {
          throw new IllegalArgumentException("allowedUids: " + uid + " (expected: a UID >= 0)");
        }
      }
      uids = Collections.unmodifiableSet(new TreeSet<>(uids));
    }

    @Override
    public boolean allows(int uid) {
      return uids.contains(uid);
    }

    @Override
    public String toString() {
      return uids.toString();
    }
  }

  /** Every UID. */
  enum Any implements AllowedUids {
    INSTANCE;

    @Override
    public boolean allows(int uid) {
      return true;
    }

    @Override
    public String toString() {
      return "any (each caller attested)";
    }
  }
}
