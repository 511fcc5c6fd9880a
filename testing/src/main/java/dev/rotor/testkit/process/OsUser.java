package dev.rotor.testkit.process;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An OS account other than the test's own (PostgreSQL's {@code postgres}), and how to run a
 * program as it. The tests run as root; {@code setpriv} switches user and group and then
 * <em>execs</em> the program, so the PID a test holds is the program's own (a signal reaches it
 * directly, unlike through {@code su} or {@code runuser}, which stay in between as parents).
 */
public record OsUser(String name, int uid, int gid) {
  private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(10);

  public OsUser {
    requireNonNull(name, "name");
  }

  /** Looks the account up in the passwd database ({@code getent passwd NAME}). */
  public static OsUser lookup(String name) {
    ShortCommand.Result result = ShortCommand.run(List.of("getent", "passwd", name), LOOKUP_TIMEOUT);
    if (!result.succeeded()) {
      throw new IllegalStateException("no OS user named " + name + " (getent passwd " + name
          + " exited with " + result.exitCode() + "); the PostgreSQL tests need Debian's"
          + " postgresql package, which creates it");
    }
    String[] fields = result.output().strip().split(":");
    return new OsUser(name, Integer.parseInt(fields[2]), Integer.parseInt(fields[3]));
  }

  /** Throws unless this process may switch to another user (it must run as root). */
  public static void requireRoot(String why) {
    try {
      int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (uid != 0) {
        throw new IllegalStateException("this test runs as UID " + uid + " (expected: root, to "
            + why + ")");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the UID of this process from /proc/self", e);
    }
  }

  /** The selectors SPIRE's {@code unix} workload attestor gives a process of this user. */
  public List<String> spireSelectors() {
    return List.of("unix:uid:" + uid);
  }

  /**
   * {@code command} prefixed so that it runs as this user, with the user's supplementary groups
   * and a clean environment (HOME, USER, PATH as for a login of the user).
   */
  public List<String> command(List<String> command) {
    List<String> wrapped = new ArrayList<>(List.of("setpriv",
        "--reuid=" + uid, "--regid=" + gid, "--init-groups", "--reset-env", "--"));
    wrapped.addAll(command);
    return wrapped;
  }

  /** Makes this user the owner (user and primary group) of {@code path}. */
  public void chown(Path path) {
    try {
      UserPrincipalLookupService lookup = path.getFileSystem().getUserPrincipalLookupService();
      UserPrincipal user = lookup.lookupPrincipalByName(name);
      GroupPrincipal group = lookup.lookupPrincipalByGroupName(Integer.toString(gid));
      PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
      view.setOwner(user);
      view.setGroup(group);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot give " + path + " to " + name, e);
    }
  }
}
