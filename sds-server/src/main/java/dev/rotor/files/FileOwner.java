package dev.rotor.files;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Numeric owner and group for written files ({@code cert_file_owner}, {@code key_file_owner}):
 * {@code "uid:gid"}, {@code "uid"} (group unchanged) or {@code ":gid"} (owner unchanged). Numbers
 * only: inside containers user names often do not resolve, and a number means the same on every
 * host that mounts the directory.
 */
public record FileOwner(Optional<Integer> uid, Optional<Integer> gid) {

  private static final Pattern FORM = Pattern.compile("(\\d{1,10})?(?::(\\d{1,10}))?");

  public FileOwner {
    java.util.Objects.requireNonNull(uid, "uid");
    java.util.Objects.requireNonNull(gid, "gid");
    if (uid.isEmpty() && gid.isEmpty()) {
      throw new IllegalArgumentException("owner: neither uid nor gid (expected uid:gid, uid or :gid)");
    }
  }

  /**
   * Parses {@code uid:gid}, {@code uid} or {@code :gid}.
   *
   * @throws IllegalArgumentException with the problem and the expected form, without a field name
   */
  public static FileOwner parse(String value) {
    Matcher m = FORM.matcher(value.trim());
    if (value.isBlank() || !m.matches() || (m.group(1) == null && m.group(2) == null)) {
      throw new IllegalArgumentException("\"" + value + "\" is not an owner (expected numeric uid:gid, e.g. 999:999,"
          + " or uid, or :gid)");
    }
    return new FileOwner(id(value, m.group(1)), id(value, m.group(2)));
  }

  private static Optional<Integer> id(String value, String digits) {
    if (digits == null) {
      return Optional.empty();
    }
    long n = Long.parseLong(digits);
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("\"" + value + "\": " + digits + " is too large for a uid or gid");
    }
    return Optional.of((int) n);
  }

  @Override
  public String toString() {
    return uid.map(String::valueOf).orElse("") + gid.map(g -> ":" + g).orElse("");
  }
}
