package dev.rotor.files;

import java.util.Set;

/** How an unknown key is reported: its line, and the known key it is probably a typo of. */
final class UnknownKeys {

  private UnknownKeys() {}

  /** {@code "cert_file_mod" (line 5, did you mean cert_file_mode?)}. */
  static String describe(String key, int line, Set<String> known) {
    // Close enough to be a typo: a third of the key's length, at least 1 edit (so "foo" is not "cmd").
    int within = Math.max(1, key.length() / 3);
    String near = known.stream().filter(k -> distance(k, key) <= within)
        .min((a, b) -> Integer.compare(distance(a, key), distance(b, key)))
        .map(k -> ", did you mean " + k + "?").orElse("");
    return "\"" + key + "\" (line " + line + near + ")";
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
