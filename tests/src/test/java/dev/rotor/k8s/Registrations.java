package dev.rotor.k8s;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** The registration list the spire-register Job feeds to the SPIRE server (registrations.txt). */
record Registrations(List<Entry> entries) {

  /** One line: ENTRY_ID SPIFFE_ID PARENT SELECTORS DNS_NAMES. */
  record Entry(String id, String spiffeId, String parent, List<String> selectors, List<String> dnsNames) {}

  Registrations {
    entries = List.copyOf(entries);
  }

  /** Parses like register.sh does; a malformed line is an error naming it. */
  static Registrations parse(String text) {
    List<Entry> out = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.split("\\s+");
      if (f.length != 5) {
        throw new IllegalArgumentException("registrations.txt:" + (i + 1) + ": " + f.length
            + " fields (expected 5: ENTRY_ID SPIFFE_ID PARENT SELECTORS DNS_NAMES)");
      }
      out.add(new Entry(f[0], f[1], f[2], List.of(f[3].split(",")),
          f[4].equals("-") ? List.of() : Arrays.asList(f[4].split(","))));
    }
    return new Registrations(out);
  }

  Optional<Entry> bySpiffeId(String spiffeId) {
    return entries.stream().filter(e -> e.spiffeId().equals(spiffeId)).findFirst();
  }
}
