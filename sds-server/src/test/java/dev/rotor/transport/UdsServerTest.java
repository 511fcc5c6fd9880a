package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UdsServerTest {

  private static final int MY_UID = UnixSocketClient.currentUid();

  @TempDir Path dir;

  private final FakeSecretService service = new FakeSecretService();
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @Test
  void allowedUid_callSucceeds_andServiceSeesCaller() throws Exception {
    UdsServer server = start(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(MY_UID)));

    DiscoveryResponse response = fetch(server.socketPath());

    assertThat(FakeSecretService.secretName(response)).isEqualTo(FakeSecretService.MARKER);
    assertThat(service.fetches).hasValue(1);
    assertThat(service.lastCaller.get()).isInstanceOfSatisfying(UnixPeer.class, peer -> {
      assertThat(peer.uid()).isEqualTo(MY_UID);
      assertThat(peer.pid()).isEqualTo((int) ProcessHandle.current().pid());
    });
  }

  @Test
  void uidNotAllowed_connectionRefused_andServiceNeverInvoked() throws Exception {
    int otherUid = MY_UID + 4242;
    UdsServer server = start(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(otherUid)));

    // The connection is closed at the handshake (UdsConnectionLimitsTest), before gRPC could say more.
    assertThatThrownBy(() -> fetch(server.socketPath()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(service.fetches).hasValue(0);
    assertThat(server.refusals().get("uid_not_allowed")).as("refused connections (gRPC retries some)").isPositive();
  }

  @Test
  void socketMode_isTheDefault0660() throws Exception {
    UdsServer server = start(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(MY_UID)));

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.socketPath(), LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("rw-rw----");
  }

  @Test
  void socketMode_isExactlyTheConfiguredOne() throws Exception {
    UdsServer server = start(new UdsServerOptions(
        dir.resolve("sds.sock"), PosixFilePermissions.fromString("rw-------"), Set.of(MY_UID)));

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.socketPath(), LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("rw-------");
  }

  @Test
  void start_leavesNothingButTheSocketAndItsLockInTheDirectory() throws Exception {
    start(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(MY_UID)));

    try (var entries = Files.list(dir)) {
      assertThat(entries).containsExactlyInAnyOrder(dir.resolve("sds.sock"), dir.resolve("sds.sock.lock"));
    }
    assertThat(Files.readString(dir.resolve("sds.sock.lock"))).isEqualTo(ProcessHandle.current().pid() + "\n");
  }

  /**
   * Issue 13, low: of two Rotors started together on one path, both passed the "is anyone
   * listening?" check and the second renamed its socket over the first's. With the first one's
   * socket gone from the path (as after that rename), a second start must still be refused.
   */
  @Test
  void secondServerOnTheSamePath_isRefusedByTheLock_evenWithTheSocketFileGone() throws Exception {
    Path socket = dir.resolve("sds.sock");
    start(UdsServerOptions.of(socket, Set.of(MY_UID)));
    Files.delete(socket);

    assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
        .isInstanceOf(TransportStartException.class)
        .hasMessage("--sds-socket " + socket + ": address in use (another Rotor (PID " + ProcessHandle.current().pid()
            + ") holds " + socket + ".lock); stop it or choose another path");
  }

  @Test
  void theLock_isReleasedOnClose_soTheNextServerStarts() throws Exception {
    Path socket = dir.resolve("sds.sock");
    start(UdsServerOptions.of(socket, Set.of(MY_UID))).close();

    UdsServer next = start(UdsServerOptions.of(socket, Set.of(MY_UID)));

    assertThat(FakeSecretService.secretName(fetch(next.socketPath()))).isEqualTo(FakeSecretService.MARKER);
  }

  @Test
  void socketProblem_whenTheSocketFileIsReplaced() throws Exception {
    Path socket = dir.resolve("sds.sock");
    UdsServer server = start(UdsServerOptions.of(socket, Set.of(MY_UID)));
    assertThat(server.socketProblem()).isEmpty();

    Files.delete(socket);
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(socket));

      assertThat(server.socketProblem()).hasValue("--sds-socket " + socket + ": the socket file was removed or"
          + " replaced by another process; Envoys cannot reach this Rotor (restart it)");
    }
  }

  @Test
  void missingParentDirectories_areCreatedWithMode0755() throws Exception {
    Path socket = dir.resolve("run/rotor/sds.sock");

    UdsServer server = start(UdsServerOptions.of(socket, Set.of(MY_UID)));

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("run")))).isEqualTo("rwxr-xr-x");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("run/rotor")))).isEqualTo("rwxr-xr-x");
    assertThat(FakeSecretService.secretName(fetch(server.socketPath()))).isEqualTo(FakeSecretService.MARKER);
  }

  @Test
  void staleSocket_isReplaced() throws Exception {
    Path socket = dir.resolve("sds.sock");
    try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      old.bind(UnixDomainSocketAddress.of(socket));
    } // closed: the file stays behind with nobody listening
    assertThat(Files.exists(socket, LinkOption.NOFOLLOW_LINKS)).isTrue();

    UdsServer server = start(UdsServerOptions.of(socket, Set.of(MY_UID)));

    assertThat(FakeSecretService.secretName(fetch(server.socketPath()))).isEqualTo(FakeSecretService.MARKER);
  }

  @Test
  void regularFileAtPath_isRefused_andLeftAlone() throws Exception {
    Path socket = Files.writeString(dir.resolve("sds.sock"), "not a socket");

    assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
        .isInstanceOf(TransportStartException.class)
        .hasMessage("--sds-socket " + socket + ": a regular file is in the way; remove it or choose another path");
    assertThat(Files.readString(socket)).isEqualTo("not a socket");
  }

  @Test
  void directoryAtPath_isRefused() throws Exception {
    Path socket = Files.createDirectory(dir.resolve("sds.sock"));

    assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
        .isInstanceOf(TransportStartException.class)
        .hasMessageStartingWith("--sds-socket " + socket + ": is a directory;");
  }

  @Test
  void liveSocketAtPath_isRefusedAsAddressInUse() throws Exception {
    Path socket = dir.resolve("sds.sock");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(socket));

      assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
          .isInstanceOf(TransportStartException.class)
          .hasMessageStartingWith("--sds-socket " + socket + ": address in use")
          .hasMessageNotContaining("\n");
    }
  }

  @Test
  void secondServerOnTheSamePath_isRefusedAsAddressInUse() throws Exception {
    Path socket = dir.resolve("sds.sock");
    start(UdsServerOptions.of(socket, Set.of(MY_UID)));

    assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
        .isInstanceOf(TransportStartException.class)
        .hasMessageStartingWith("--sds-socket " + socket + ": address in use");
  }

  @Test
  void parentIsNotADirectory_isRefusedWithTheFlagAndPath() throws Exception {
    Path notADir = Files.writeString(dir.resolve("file"), "x");
    Path socket = notADir.resolve("sds.sock");

    assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
        .isInstanceOf(TransportStartException.class)
        .hasMessageStartingWith("--sds-socket " + socket + ": ")
        .hasMessageContaining(notADir.toString())
        .hasMessageNotContaining("\n");
  }

  @Test
  void tooLongPath_isRefused() {
    Path socket = dir.resolve("x".repeat(120) + ".sock");

    assertThatThrownBy(() -> start(UdsServerOptions.of(socket, Set.of(MY_UID))))
        .isInstanceOf(TransportStartException.class)
        .hasMessageStartingWith("--sds-socket " + socket + ": path is too long for a Unix socket");
  }

  @Test
  void close_removesTheSocket() throws Exception {
    UdsServer server = start(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(MY_UID)));

    server.close();

    assertThat(Files.exists(server.socketPath(), LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertThat(server.server().isTerminated()).isTrue();
  }

  @Test
  void close_leavesASocketThatIsNoLongerOurs() throws Exception {
    Path socket = dir.resolve("sds.sock");
    UdsServer server = start(UdsServerOptions.of(socket, Set.of(MY_UID)));
    Files.delete(socket);
    try (ServerSocketChannel successor = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      successor.bind(UnixDomainSocketAddress.of(socket));

      server.close();

      assertThat(Files.exists(socket, LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
  }

  @Test
  void options_defaultModeIs0660() {
    assertThat(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(MY_UID)).socketModeOctal()).isEqualTo("0660");
  }

  @Test
  void options_rejectEmptyAllowedUids() {
    assertThatThrownBy(() -> UdsServerOptions.of(dir.resolve("sds.sock"), Set.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("allowedUids: empty");
  }

  private UdsServer start(UdsServerOptions options) throws TransportStartException {
    UdsServer server = UdsServer.start(options, List.of(service.bindService()));
    cleanup.add(server);
    return server;
  }

  private DiscoveryResponse fetch(Path socket) {
    return UnixSocketClient.fetch(socket, cleanup);
  }
}
