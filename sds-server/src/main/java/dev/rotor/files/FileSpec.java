package dev.rotor.files;

import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * How one output file must look on disk: its permission bits (0 to 0777) and, when configured, its
 * owner and group. Applied on every write.
 */
public record FileSpec(int mode, Optional<FileOwner> owner) {

  private static final PosixFilePermission[] BITS = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};

  public FileSpec {
    java.util.Objects.requireNonNull(owner, "owner");
    if (mode < 0 || mode > 0777) {
      throw new IllegalArgumentException("mode: " + Integer.toOctalString(mode) + " (expected: 0 to 0777)");
    }
  }

  public static FileSpec of(int mode) {
    return new FileSpec(mode, Optional.empty());
  }

  public Set<PosixFilePermission> permissions() {
    return permissions(mode);
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
    for (int i = 0; i < BITS.length; i++) {
      if ((mode & (1 << i)) != 0) {
        p.add(BITS[i]);
      }
    }
    return p;
  }

  static int mode(Set<PosixFilePermission> permissions) {
    int m = 0;
    for (int i = 0; i < BITS.length; i++) {
      if (permissions.contains(BITS[i])) {
        m |= 1 << i;
      }
    }
    return m;
  }

  /** {@code 0644}: the form configuration files and messages use. */
  public String octal() {
    return octal(mode);
  }

  static String octal(int mode) {
    return String.format("%04o", mode);
  }

  @Override
  public String toString() {
    return octal() + owner.map(o -> " owner " + o).orElse("");
  }
}
