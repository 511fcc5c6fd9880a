package dev.rotor.testkit.spire;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.Ports;
import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.TempDirs;
import dev.rotor.testkit.process.ManagedProcess;
import dev.rotor.testkit.process.ShortCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real single-machine SPIRE (server + agent, built from its Go module by
 * {@code spire/build-spire.sh}) for end-to-end tests, configured from {@code spire/local/*.conf}.
 *
 * <p>Use it as a class-level extension, which starts SPIRE before the first test and stops it
 * after the last, dumping the ends of both logs if anything failed:
 *
 * <pre>{@code
 * @RegisterExtension static final SpireFixture spire = new SpireFixture();
 * ...
 * spire.createEntry("spiffe://example.org/w", SpireFixture.currentUidSelectors(), Duration.ofSeconds(60));
 * spire.awaitSvidIssued("spiffe://example.org/w");
 * ... spire.agentSocket() ...
 * }</pre>
 *
 * or by hand: {@code try (SpireFixture spire = new SpireFixture().start()) { ... }}.
 *
 * <p>Everything lives in one directory under {@code /tmp} (Unix socket paths must stay under ~100
 * characters); it is deleted on close unless something failed, in which case its path is printed.
 */
public final class SpireFixture
    implements BeforeAllCallback, AfterAllCallback, TestWatcher, AutoCloseable {
  public static final String TRUST_DOMAIN = "example.org";
  public static final String TRUST_DOMAIN_ID = "spiffe://" + TRUST_DOMAIN;

  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(30);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration CLI_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);
  private static final Pattern TOKEN = Pattern.compile("(?m)^Token: (\\S+)$");
  private static final Pattern ENTRY_ID = Pattern.compile("(?m)^Entry ID\\s*: (\\S+)$");

  private Path repoRoot;
  private Path binDir;
  private Path dir;
  private int serverPort;
  private String joinToken;
  private ManagedProcess server;
  private ManagedProcess agent;
  private int agentStarts;
  private boolean failed;
  private boolean closed;
  /** server.conf settings replaced after rendering (key → HCL value), e.g. a short ca_ttl. */
  private final Map<String, String> serverSettings = new java.util.LinkedHashMap<>();
  /** agent.conf settings of the agent block, set after rendering (key → raw HCL value). */
  private final Map<String, String> agentSettings = new java.util.LinkedHashMap<>();

  /**
   * Replaces the value of {@code key} (a top-level setting of the {@code server} block, such as
   * {@code ca_ttl}) in the rendered server.conf with the string {@code value}. Call before start.
   */
  public SpireFixture withServerSetting(String key, String value) {
    if (server != null) {
      throw new IllegalStateException("withServerSetting(" + key + ") after start");
    }
    serverSettings.put(requireNonNull(key, "key"), requireNonNull(value, "value"));
    return this;
  }

  /**
   * Sets {@code key} (a top-level setting of the {@code agent} block) in the rendered agent.conf to
   * {@code hclValue}, written as is: quote strings yourself ({@code "\"/x\""}), lists as HCL lists.
   * Replaces the line if agent.conf has one, else adds it. Call before start.
   */
  public SpireFixture withAgentSetting(String key, String hclValue) {
    if (agent != null) {
      throw new IllegalStateException("withAgentSetting(" + key + ") after start");
    }
    agentSettings.put(requireNonNull(key, "key"), requireNonNull(hclValue, "hclValue"));
    return this;
  }

  /**
   * Makes the agent serve its admin API, with the Delegated Identity API, on {@link #adminSocket()}
   * to callers attested as one of {@code authorizedDelegates} (agent {@code admin_socket_path} and
   * {@code authorized_delegates}). Call before start.
   */
  public SpireFixture withDelegatedIdentityApi(String... authorizedDelegates) {
    withAgentSetting("admin_socket_path", "\"${ADMIN_SOCKET}\"");
    StringBuilder list = new StringBuilder("[");
    for (String id : authorizedDelegates) {
      list.append(list.length() > 1 ? ", " : "").append('"').append(id).append('"');
    }
    return withAgentSetting("authorized_delegates", list.append(']').toString());
  }

  /** Builds SPIRE if needed, starts the server, attests an agent with a join token, starts it. */
  public SpireFixture start() {
    if (server != null) {
      throw new IllegalStateException("SPIRE fixture already started in " + dir);
    }
    try {
      repoRoot = RepoRoot.path();
      dir = Files.createTempDirectory(Path.of("/tmp"), "rotor-it-");
      Files.createDirectories(dir.resolve("server"));
      Files.createDirectories(dir.resolve("agent"));
      // The agent refuses an admin socket in the directory of its Workload API socket (or below it):
      // each gets a directory of its own.
      Files.createDirectories(agentSocket().getParent());
      Files.createDirectories(adminSocket().getParent());
      binDir = Path.of(ShortCommand.run(List.of("bash", repoRoot.resolve("spire/build-spire.sh").toString()),
          BUILD_TIMEOUT).orThrow().lastLine());
      serverPort = Ports.free();
      Map<String, String> values = Map.of(
          "DATA_DIR", dir.toString(),
          "SERVER_PORT", Integer.toString(serverPort),
          "SERVER_SOCKET", serverSocket().toString(),
          "AGENT_SOCKET", agentSocket().toString(),
          "LOG_LEVEL", "DEBUG");
      render("server.conf", values);
      render("agent.conf", values);
      overrideServerSettings();
      setAgentSettings();

      startServer();

      String bundle = spireServer("bundle", "show", "-format", "pem").output();
      Files.writeString(dir.resolve("bootstrap-bundle.pem"), bundle, StandardCharsets.UTF_8);
      joinToken = match(TOKEN, spireServer("token", "generate", "-ttl", "600").output(),
          "a join token in the output of spire-server token generate");
      startAgent();
      return this;
    } catch (IOException | RuntimeException e) {
      failed = true;
      close();
      throw e instanceof IOException io
          ? new UncheckedIOException("cannot prepare the SPIRE fixture in " + dir, io)
          : (RuntimeException) e;
    }
  }

  /** The SPIRE agent's Workload API socket; the agent serves SDS v3 on it too. */
  public Path agentSocket() {
    return dir.resolve("workload").resolve("agent.sock");
  }

  /** The agent's admin socket, served when {@link #withDelegatedIdentityApi} was called. */
  public Path adminSocket() {
    return dir.resolve("admin").resolve("admin.sock");
  }

  /** {@link #agentSocket()} as the {@code unix://} URI the Workload API clients take. */
  public String agentSocketUri() {
    return "unix://" + agentSocket();
  }

  /** The fixture's directory: configs, data, sockets and logs. Short enough for more sockets. */
  public Path dir() {
    return dir;
  }

  /** The agent's SPIFFE ID, the parent of the entries created by {@link #createEntry}. */
  public String agentSpiffeId() {
    return TRUST_DOMAIN_ID + "/spire/agent/join_token/" + joinToken;
  }

  /** The UID of this test process, which is also the UID of the processes it starts. */
  public static int currentUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the UID of this process from /proc/self", e);
    }
  }

  /** Selectors that the agent's {@code unix} workload attestor gives this process. */
  public static List<String> currentUidSelectors() {
    return List.of("unix:uid:" + currentUid());
  }

  /**
   * Registers a workload entry under this fixture's agent and returns its entry ID. The agent
   * learns of it at its next sync (every 5 s); {@link #awaitSvidIssued} waits for that.
   */
  public String createEntry(String spiffeId, List<String> selectors, Duration x509SvidTtl) {
    return createEntry(spiffeId, selectors, x509SvidTtl, List.of());
  }

  /**
   * Like {@link #createEntry(String, List, Duration)}, with DNS names for the SVID. SPIRE puts
   * every one into a DNS SAN and the first also into the subject CN, which is what a server's
   * host-name check and PostgreSQL's certificate authentication ({@code pg_ident.conf}) look at.
   */
  public String createEntry(
      String spiffeId, List<String> selectors, Duration x509SvidTtl, List<String> dnsNames) {
    requireNonNull(spiffeId, "spiffeId");
    if (selectors.isEmpty()) {
      throw new IllegalArgumentException("selectors: [] (expected: at least one type:value)");
    }
    List<String> args = new ArrayList<>(List.of("entry", "create",
        "-parentID", agentSpiffeId(),
        "-spiffeID", spiffeId,
        "-x509SVIDTTL", Long.toString(x509SvidTtl.toSeconds())));
    for (String selector : selectors) {
      args.add("-selector");
      args.add(selector);
    }
    for (String dnsName : dnsNames) {
      args.add("-dns");
      args.add(dnsName);
    }
    return match(ENTRY_ID, spireServer(args.toArray(String[]::new)).output(),
        "an entry ID in the output of spire-server entry create");
  }

  /** Deletes the registration entry {@code entryId} (from {@link #createEntry}). */
  public void deleteEntry(String entryId) {
    spireServer("entry", "delete", "-entryID", requireNonNull(entryId, "entryId"));
  }

  /** Waits until the agent hands this process an X.509-SVID with {@code spiffeId}. */
  public void awaitSvidIssued(String spiffeId) {
    List<String> fetch = List.of(bin("spire-agent"), "api", "fetch", "x509",
        "-socketPath", agentSocket().toString());
    await("the SPIRE agent to issue an X.509-SVID for " + spiffeId + " to UID " + currentUid()
            + " (spire-agent api fetch x509)")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> {
          agent.checkAlive("waiting for an SVID for " + spiffeId);
          ShortCommand.Result result = ShortCommand.run(fetch, CLI_TIMEOUT);
          return result.succeeded() && result.output().contains(spiffeId);
        });
  }

  /**
   * Writes the X.509-SVID that the agent gives a process started with {@code launcher} (e.g.
   * {@code setpriv --regid=4302 --clear-groups}, another workload to the agent's {@code unix}
   * attestor) into {@code dir}: {@code svid.0.pem} (chain), {@code svid.0.key}, {@code
   * bundle.0.pem}, as {@code spire-agent api fetch x509 -write} names them. Retries until the
   * agent has an SVID for that workload (it learns of new entries at its next sync).
   */
  public Path writeX509Svid(List<String> launcher, String spiffeId, Path dir) {
    List<String> fetch = new ArrayList<>(launcher);
    fetch.addAll(List.of(bin("spire-agent"), "api", "fetch", "x509",
        "-socketPath", agentSocket().toString(), "-write", dir.toString()));
    await("the SPIRE agent to issue an X.509-SVID for " + spiffeId + " to `" + String.join(" ", launcher) + "`")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> {
          agent.checkAlive("waiting for an SVID for " + spiffeId);
          ShortCommand.Result result = ShortCommand.run(fetch, CLI_TIMEOUT);
          return result.succeeded() && result.output().contains(spiffeId);
        });
    return dir;
  }

  /**
   * Starts the server (again, after {@link #stopServer}) from its data dir, which keeps its
   * datastore and CA keys, and waits until it is healthy.
   */
  public void startServer() {
    if (server != null && server.isAlive()) {
      throw new IllegalStateException("the SPIRE server is already running (pid " + server.pid() + ")");
    }
    server = ManagedProcess.start("spire-server",
        List.of(bin("spire-server"), "run", "-config", dir.resolve("server.conf").toString()),
        dir.resolve("server.log"));
    awaitHealthy(server, List.of(bin("spire-server"), "healthcheck",
        "-socketPath", serverSocket().toString()));
  }

  /** Stops the server (SIGTERM, then SIGKILL after a grace period); the agent keeps running. */
  public void stopServer() {
    if (server != null) {
      server.stop(STOP_GRACE);
    }
  }

  public boolean isServerRunning() {
    return server != null && server.isAlive();
  }

  /** Kills the agent with SIGKILL, as a crash would; its data dir stays. */
  public void killAgent() {
    if (agent != null) {
      agent.kill();
    }
  }

  /** Stops the agent (SIGTERM, then SIGKILL after a grace period); its data dir stays. */
  public void stopAgent() {
    if (agent != null) {
      agent.stop(STOP_GRACE);
    }
  }

  /**
   * Starts the agent and waits until it is healthy. The first start attests with the join
   * token; later starts resume from the agent's data dir (persisted SVID and key on disk), which
   * SPIRE allows while the agent SVID is valid ({@code agent_ttl} in server.conf). A join token
   * is single-use, so it is passed only once.
   */
  public void startAgent() {
    if (agent != null && agent.isAlive()) {
      throw new IllegalStateException("the SPIRE agent is already running (pid " + agent.pid() + ")");
    }
    List<String> command = new ArrayList<>(List.of(bin("spire-agent"), "run",
        "-config", dir.resolve("agent.conf").toString()));
    if (agentStarts == 0) {
      command.add("-joinToken");
      command.add(joinToken);
    }
    agentStarts++;
    agent = ManagedProcess.start("spire-agent", command, dir.resolve("agent.log"));
    awaitHealthy(agent, List.of(bin("spire-agent"), "healthcheck",
        "-socketPath", agentSocket().toString()));
  }

  public boolean isAgentRunning() {
    return agent != null && agent.isAlive();
  }

  /** The ends of the server and agent logs. */
  public String describe() {
    StringBuilder out = new StringBuilder("SPIRE fixture in ").append(dir).append('\n');
    if (server != null) {
      out.append(server.describe(60));
    }
    if (agent != null) {
      out.append(agent.describe(60));
    }
    return out.toString();
  }

  /** Makes {@link #close} dump the logs and keep the directory. */
  public void markFailed() {
    failed = true;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (failed) {
      System.err.println(describe());
      System.err.println("SPIRE fixture directory kept for inspection: " + dir);
    }
    if (agent != null) {
      agent.stop(STOP_GRACE);
    }
    if (server != null) {
      server.stop(STOP_GRACE);
    }
    if (!failed && dir != null) {
      TempDirs.deleteQuietly(dir);
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (context.getExecutionException().isPresent()) {
      failed = true;
    }
    close();
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    failed = true;
  }

  private void awaitHealthy(ManagedProcess process, List<String> healthcheck) {
    await(process.name() + " to pass `" + String.join(" ", healthcheck) + "`")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> {
          process.checkAlive("waiting for it to become healthy");
          return ShortCommand.run(healthcheck, CLI_TIMEOUT).succeeded();
        });
  }

  private ShortCommand.Result spireServer(String... args) {
    List<String> command = new ArrayList<>();
    command.add(bin("spire-server"));
    command.add(args[0]);
    command.add(args[1]);
    command.add("-socketPath");
    command.add(serverSocket().toString());
    command.addAll(List.of(args).subList(2, args.length));
    return ShortCommand.run(command, CLI_TIMEOUT).orThrow();
  }

  private Path serverSocket() {
    return dir.resolve("server.sock");
  }

  private String bin(String name) {
    return binDir.resolve(name).toString();
  }

  /** Copies spire/local/NAME into the fixture dir with every ${KEY} replaced by its value. */
  private void render(String name, Map<String, String> values) throws IOException {
    String text = Files.readString(repoRoot.resolve("spire/local").resolve(name), StandardCharsets.UTF_8);
    for (Map.Entry<String, String> value : values.entrySet()) {
      text = text.replace("${" + value.getKey() + "}", value.getValue());
    }
    Matcher left = Pattern.compile("\\$\\{[A-Z_]+}").matcher(text);
    if (left.find()) {
      throw new IllegalStateException("spire/local/" + name + ": placeholder " + left.group()
          + " has no value (expected one of " + values.keySet() + ")");
    }
    Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
  }

  private void overrideServerSettings() throws IOException {
    Path conf = dir.resolve("server.conf");
    String text = Files.readString(conf, StandardCharsets.UTF_8);
    for (Map.Entry<String, String> setting : serverSettings.entrySet()) {
      Matcher line = Pattern.compile("(?m)^(\\s*" + Pattern.quote(setting.getKey()) + "\\s*=\\s*).*$").matcher(text);
      if (!line.find()) {
        throw new IllegalStateException("spire/local/server.conf has no setting " + setting.getKey()
            + " to override (expected: a line `" + setting.getKey() + " = ...`)");
      }
      text = line.replaceFirst(Matcher.quoteReplacement(line.group(1) + "\"" + setting.getValue() + "\""));
    }
    Files.writeString(conf, text, StandardCharsets.UTF_8);
  }

  private void setAgentSettings() throws IOException {
    Path conf = dir.resolve("agent.conf");
    String text = Files.readString(conf, StandardCharsets.UTF_8);
    for (Map.Entry<String, String> setting : agentSettings.entrySet()) {
      String value = setting.getValue().replace("${ADMIN_SOCKET}", adminSocket().toString());
      Matcher line = Pattern.compile("(?m)^(\\s*" + Pattern.quote(setting.getKey()) + "\\s*=\\s*).*$").matcher(text);
      if (line.find()) {
        text = line.replaceFirst(Matcher.quoteReplacement(line.group(1) + value));
        continue;
      }
      Matcher block = Pattern.compile("(?m)^agent\\s*\\{\\s*$").matcher(text);
      if (!block.find()) {
        throw new IllegalStateException("spire/local/agent.conf has no `agent {` block to add " + setting.getKey() + " to");
      }
      text = text.substring(0, block.end()) + "\n    " + setting.getKey() + " = " + value + text.substring(block.end());
    }
    Files.writeString(conf, text, StandardCharsets.UTF_8);
  }

  private static String match(Pattern pattern, String output, String what) {
    Matcher matcher = pattern.matcher(output);
    if (!matcher.find()) {
      throw new IllegalStateException("expected " + what + ", got:\n" + output);
    }
    return matcher.group(1);
  }
}
