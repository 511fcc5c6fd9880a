package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import com.google.common.net.InetAddresses;
import dev.rotor.cli.Durations;
import dev.rotor.files.HclReader.Bool;
import dev.rotor.files.HclReader.ListValue;
import dev.rotor.files.HclReader.ObjectValue;
import dev.rotor.files.HclReader.Str;
import dev.rotor.files.HclReader.Value;
import dev.rotor.files.HelperConfig.FileSettings;
import dev.rotor.files.HelperConfig.HealthChecks;
import dev.rotor.files.HelperConfig.JwtSvidOutput;
import dev.rotor.files.HelperConfig.Pkcs12Output;
import dev.rotor.files.HelperConfig.Reload;
import dev.rotor.files.HelperConfig.X509Output;
import dev.rotor.source.workload.WorkloadApiAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads spiffe-helper's {@code helper.conf} unchanged, plus Rotor's extension keys, and the same
 * settings as {@code rotor write-certs} flags (a flag overrides the file's key). The result is a
 * validated {@link HelperConfig}, or a {@link HelperConfigException} whose one-line message names
 * the file and line (or the flag), the key, the bad value and the fix.
 *
 * <p>spiffe-helper's semantics kept: the defaults (modes 0644/0600/0600/0600, health port 8081,
 * {@code /live}, {@code /ready}, daemon mode on), {@code agent_address} from {@code
 * SPIFFE_ENDPOINT_SOCKET} when absent, a mode of 0 meaning the default, the three X.509 file names
 * all or none, {@code renew_signal} required with {@code pid_file_name}, unknown keys rejected.
 * Stricter, on purpose: a mode must be written in octal with a leading 0 (spiffe-helper reads
 * {@code 644} as decimal, mode 01204), signal names are checked at start-up, {@code renew_signal}
 * is also required with {@code cmd} (Rotor never restarts {@code cmd}; a command that should run
 * on every renewal is a {@code reload_cmd}), and {@code cert_dir} must exist, be writable, and be
 * changeable by nobody but root and Rotor's own user ({@link CertDirCheck}; {@code
 * allow_insecure_cert_dir} accepts it anyway, with a warning).
 */
public final class HelperConfigParser {

  private static final Logger log = LoggerFactory.getLogger(HelperConfigParser.class);

  /** spiffe-helper's default when neither agent_address nor SPIFFE_ENDPOINT_SOCKET is set. */
  public static final String DEFAULT_AGENT_ADDRESS = "/tmp/spire-agent/public/api.sock";

  static final int DEFAULT_CERT_FILE_MODE = 0644;
  static final int DEFAULT_KEY_FILE_MODE = 0600;
  static final int DEFAULT_JWT_BUNDLE_FILE_MODE = 0600;
  static final int DEFAULT_JWT_SVID_FILE_MODE = 0600;
  static final Duration DEFAULT_RELOAD_CMD_TIMEOUT = Duration.ofSeconds(30);

  /** Every top-level key: spiffe-helper's, then Rotor's extensions. */
  static final Set<String> TOP_LEVEL_KEYS = Set.of(
      "agent_address", "cmd", "cmd_args", "pid_file_name", "renew_signal", "cert_dir",
      "svid_file_name", "svid_key_file_name", "svid_bundle_file_name", "add_intermediates_to_bundle",
      "include_federated_domains", "omit_expired", "cert_file_mode", "key_file_mode", "jwt_svids",
      "jwt_bundle_file_name", "jwt_bundle_file_mode", "jwt_svid_file_mode", "hint", "daemon_mode", "health_checks",
      // Rotor
      "cert_file_owner", "key_file_owner", "pkcs8_der_key_file_name", "pkcs12_file_name", "pkcs12_password_file",
      "reload_cmd", "reload_cmd_timeout", "allow_insecure_cert_dir");
  static final Set<String> HEALTH_KEYS = Set.of(
      "listener_enabled", "bind_port", "liveness_path", "readiness_path", "bind_address");
  static final Set<String> JWT_SVID_KEYS = Set.of("jwt_audience", "jwt_extra_audiences", "jwt_svid_file_name");

  /**
   * A value given on the command line for a {@code helper.conf} key.
   *
   * @param flag the flag as typed, for messages ({@code --cert-file-mode})
   * @param value a {@code String}, {@code Boolean} or {@code List<String>}
   */
  public record Flag(String flag, Object value) {
    public Flag {
      requireNonNull(flag, "flag");
      requireNonNull(value, "value");
      if (!(value instanceof String || value instanceof Boolean || value instanceof List<?>)) {
        throw new IllegalArgumentException("value: " + value.getClass() + " (expected String, Boolean or List)");
      }
    }
  }

  private final String source;
  private final Map<String, Setting> top = new LinkedHashMap<>();
  private final Map<String, String> env;
  /** Relative paths (cert_dir, pid_file_name, ...) resolve against it, as spiffe-helper's do. */
  private final Path workingDirectory;
  private boolean flagsOnly;
  /** The process umask, applied to every configured mode as open(2) applies it for spiffe-helper. */
  private int umask = Umask.ofThisProcess();

  private HelperConfigParser(String source, Map<String, String> env, Path workingDirectory) {
    this.source = source;
    this.env = env;
    this.workingDirectory = workingDirectory.toAbsolutePath();
  }

  /** As {@link #parse(String, String, Map, Map, Path)}, as if the process umask were {@code umask}. */
  static HelperConfig parse(String text, String source, Map<String, Flag> flags, Map<String, String> env,
      Path workingDirectory, int umask) {
    return parse(text, source, flags, env, workingDirectory, Optional.of(umask));
  }

  /**
   * Reads {@code file}, applies {@code flags} (keyed by helper.conf key; {@code
   * health_checks.bind_port} for nested ones) and validates.
   */
  public static HelperConfig parseFile(Path file, Map<String, Flag> flags, Map<String, String> env) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new HelperConfigException(file + ": cannot read the configuration file (" + describe(e)
          + "; check the path given to --config)", e);
    }
    return parse(text, file.toString(), flags, env, Path.of(""));
  }

  /**
   * As {@link #parseFile}, with the file's text; {@code source} names it in messages and relative
   * paths resolve against {@code workingDirectory}.
   */
  public static HelperConfig parse(
      String text, String source, Map<String, Flag> flags, Map<String, String> env, Path workingDirectory) {
    return parse(text, source, flags, env, workingDirectory, Optional.empty());
  }

  private static HelperConfig parse(String text, String source, Map<String, Flag> flags, Map<String, String> env,
      Path workingDirectory, Optional<Integer> umask) {
    HelperConfigParser p = new HelperConfigParser(requireNonNull(source, "source"), requireNonNull(env, "env"),
        requireNonNull(workingDirectory, "workingDirectory"));
    umask.ifPresent(u -> p.umask = u);
    ObjectValue body;
    try {
      body = HclReader.read(requireNonNull(text, "text"));
    } catch (HclReader.SyntaxException e) {
      throw new HelperConfigException(source + ":" + e.line() + ":" + e.column() + ": HCL syntax error: "
          + e.getMessage());
    }
    p.load(body);
    p.applyFlags(requireNonNull(flags, "flags"));
    return p.build();
  }

  /** Settings from flags alone (no configuration file). */
  public static HelperConfig fromFlags(Map<String, Flag> flags, Map<String, String> env, Path workingDirectory) {
    HelperConfigParser p = new HelperConfigParser("command line", requireNonNull(env, "env"),
        requireNonNull(workingDirectory, "workingDirectory"));
    p.flagsOnly = true;
    p.applyFlags(requireNonNull(flags, "flags"));
    return p.build();
  }

  private void load(ObjectValue body) {
    List<String> unknown = new ArrayList<>();
    body.entries().forEach((key, values) -> {
      if (!TOP_LEVEL_KEYS.contains(key)) {
        unknown.add(UnknownKeys.describe(key, values.get(0).line(), TOP_LEVEL_KEYS));
        return;
      }
      if (values.size() > 1 && !key.equals("jwt_svids")) {
        throw new HelperConfigException(source + ":" + values.get(1).line() + ": " + key + ": set twice (also on line "
            + values.get(0).line() + "; keep one)");
      }
      Value v = values.size() == 1 ? values.get(0) : new ListValue(values, values.get(0).line());
      top.put(key, new Setting(key, v, source + ":" + v.line(), false));
    });
    if (!unknown.isEmpty()) {
      throw new HelperConfigException(source + ": unknown key" + (unknown.size() > 1 ? "s " : " ")
          + String.join(", ", unknown) + " (docs/file-writer.md lists every key)");
    }
  }

  private void applyFlags(Map<String, Flag> flags) {
    flags.forEach((key, flag) -> {
      String topKey = key.contains(".") ? key.substring(0, key.indexOf('.')) : key;
      if (!TOP_LEVEL_KEYS.contains(topKey)) {
        throw new IllegalArgumentException("flags: " + key + " is not a helper.conf key");
      }
      top.put(key, new Setting(key, toValue(flag.value()), flag.flag(), true));
    });
  }

  private static Value toValue(Object v) {
    if (v instanceof Boolean b) {
      return new Bool(b, 0);
    }
    if (v instanceof List<?> l) {
      return new ListValue(l.stream().<Value>map(x -> new Str(String.valueOf(x), 0)).toList(), 0);
    }
    return new Str((String) v, 0);
  }

  private HelperConfig build() {
    boolean daemonMode = bool("daemon_mode", true);
    Path certDir = certDir();
    FileSettings files = new FileSettings(
        fileMode("cert_file_mode", DEFAULT_CERT_FILE_MODE, Optional.empty()),
        fileMode("key_file_mode", DEFAULT_KEY_FILE_MODE, Optional.of("the private key")),
        fileMode("jwt_bundle_file_mode", DEFAULT_JWT_BUNDLE_FILE_MODE, Optional.empty()),
        fileMode("jwt_svid_file_mode", DEFAULT_JWT_SVID_FILE_MODE, Optional.of("the JWT-SVID, a bearer token")),
        owner("cert_file_owner"),
        owner("key_file_owner"));

    Optional<X509Output> x509 = x509();
    List<JwtSvidOutput> jwtSvids = jwtSvids();
    Optional<String> jwtBundle = fileName("jwt_bundle_file_name");
    if (x509.isEmpty() && jwtSvids.isEmpty() && jwtBundle.isEmpty()) {
      throw new HelperConfigException(source + ": nothing to write (give svid_file_name, svid_key_file_name and"
          + " svid_bundle_file_name, or jwt_svids, or jwt_bundle_file_name)");
    }
    checkDistinctNames(x509, jwtSvids, jwtBundle);

    Reload reload = reload(daemonMode);
    HealthChecks health = healthChecks();
    String hint = string("hint").orElse("");
    Address agent = agentAddress();
    return new HelperConfig(agent.address(), certDir, x509, jwtSvids, jwtBundle, files, reload, daemonMode, health,
        hint, agent.source());
  }

  /** {@code SPIRE_AGENT_ADDRESS}: spiffe-helper's older variable, read before SPIFFE_ENDPOINT_SOCKET. */
  public static final String SPIRE_AGENT_ADDRESS = "SPIRE_AGENT_ADDRESS";

  /** An agent address and where it came from (for messages). */
  private record Address(WorkloadApiAddress address, String source) {}

  /**
   * spiffe-helper's order: {@code agent_address} (file or flag), else {@code SPIRE_AGENT_ADDRESS},
   * else {@code SPIFFE_ENDPOINT_SOCKET}, else {@code /tmp/spire-agent/public/api.sock}. Both
   * variables set to different addresses is an error, as in spiffe-helper (which refuses both set
   * even when equal; Rotor accepts the same address twice).
   */
  private Address agentAddress() {
    Optional<String> configured = string("agent_address").filter(v -> !v.isEmpty());
    String value;
    String label;
    if (configured.isPresent()) {
      value = configured.get();
      label = top.get("agent_address").label();
    } else {
      String spire = nonBlank(env.get(SPIRE_AGENT_ADDRESS));
      String spiffe = nonBlank(env.get(WorkloadApiAddress.ENV));
      if (spire != null && spiffe != null && !spire.equals(spiffe)) {
        throw new HelperConfigException(SPIRE_AGENT_ADDRESS + " and " + WorkloadApiAddress.ENV + " name different"
            + " agents (\"" + spire + "\", \"" + spiffe + "\"); unset one, or set agent_address (spiffe-helper"
            + " refuses both too)");
      }
      value = spire != null ? spire : spiffe != null ? spiffe : DEFAULT_AGENT_ADDRESS;
      label = spire != null ? SPIRE_AGENT_ADDRESS : spiffe != null ? WorkloadApiAddress.ENV : "agent_address (default)";
    }
    try {
      return new Address(WorkloadApiAddress.parse(value), label);
    } catch (IllegalArgumentException e) {
      String msg = e.getMessage().replaceFirst("^" + Pattern.quote(WorkloadApiAddress.FLAG) + ": ", "");
      throw new HelperConfigException(label + ": " + msg);
    }
  }

  private static String nonBlank(String v) {
    return v == null || v.isBlank() ? null : v;
  }

  private Path certDir() {
    Optional<Setting> s = setting("cert_dir");
    String raw = s.isEmpty() ? "" : s.get().string();
    String label = s.map(Setting::label).orElse(source + ": cert_dir");
    Path dir;
    try {
      // spiffe-helper joins cert_dir and the file names: "" is the working directory.
      dir = workingDirectory.resolve(raw).normalize();
    } catch (RuntimeException e) {
      throw new HelperConfigException(label + ": \"" + raw + "\" is not a path");
    }
    if (!Files.exists(dir)) {
      throw new HelperConfigException(label + ": " + dir + " does not exist (create the directory first;"
          + " Rotor does not create it)");
    }
    if (!Files.isDirectory(dir)) {
      throw new HelperConfigException(label + ": " + dir + " is not a directory");
    }
    checkWhoMayWrite(dir, label); // first: the probe below creates and deletes a file there by path
    // Files.isWritable says yes to root even on a read-only file system: create a file to know.
    try {
      Path probe = Files.createTempFile(dir, ".rotor-probe-", ".tmp");
      Files.delete(probe);
    } catch (IOException | RuntimeException e) {
      throw new HelperConfigException(label + ": " + dir + " is not writable (" + describe(e)
          + "; run Rotor as a user that may create files there, or choose another cert_dir)");
    }
    return dir;
  }

  /**
   * Refuses a cert_dir that users other than root and Rotor's own can change ({@link
   * CertDirCheck}), unless {@code allow_insecure_cert_dir} accepts it, with a warning.
   */
  private void checkWhoMayWrite(Path dir, String label) {
    boolean allowed = bool("allow_insecure_cert_dir", false);
    List<String> problems;
    try {
      problems = CertDirCheck.problems(dir, Principals.ownUid());
    } catch (IOException | RuntimeException e) {
      problems = List.of("cannot tell who may write to it (" + describe(e) + ")");
    }
    if (problems.isEmpty()) {
      return;
    }
    String what = String.join("; ", problems);
    if (!allowed) {
      throw new HelperConfigException(label + ": " + dir + ": " + what + ". Another user who can write there could"
          + " delete or replace the files Rotor writes; make every directory on the path owned by root or Rotor's"
          + " user and not writable by group or others (chown, chmod go-w; chmod +t for a shared directory such as"
          + " /tmp), or accept that with allow_insecure_cert_dir = true (--allow-insecure-cert-dir;"
          + " docs/file-writer.md, \"Who may write to cert_dir\")");
    }
    log.warn("{}: {}: {}. Accepted because allow_insecure_cert_dir is true: Rotor never follows a symlink there and"
        + " removes only what it created, but another user who can write there can delete or replace the files"
        + " readers see (docs/file-writer.md, \"Who may write to cert_dir\")", label, dir, what);
  }

  private Optional<X509Output> x509() {
    List<String> trio = List.of("svid_file_name", "svid_key_file_name", "svid_bundle_file_name");
    Map<String, Optional<String>> names = new LinkedHashMap<>();
    for (String k : trio) {
      names.put(k, fileName(k));
    }
    long given = names.values().stream().filter(Optional::isPresent).count();
    if (given != 0 && given != 3) {
      List<String> missing = names.entrySet().stream().filter(e -> e.getValue().isEmpty()).map(Map.Entry::getKey)
          .toList();
      throw new HelperConfigException(source + ": " + String.join(", ", trio) + ": give all three or none (missing: "
          + String.join(", ", missing) + ")");
    }
    Optional<String> pk8 = fileName("pkcs8_der_key_file_name");
    Optional<String> p12 = fileName("pkcs12_file_name");
    Optional<Path> p12Password = path("pkcs12_password_file");
    if (given == 0) {
      for (String k : List.of("pkcs8_der_key_file_name", "pkcs12_file_name")) {
        if (setting(k).isPresent() && fileName(k).isPresent()) {
          throw setting(k).get().error("only with svid_file_name, svid_key_file_name and svid_bundle_file_name"
              + " (the DER key and keystore are extra forms of the same SVID)");
        }
      }
      return Optional.empty();
    }
    if (p12Password.isPresent() && p12.isEmpty()) {
      throw setting("pkcs12_password_file").get().error("only with pkcs12_file_name");
    }
    if (p12Password.isPresent()) {
      Path f = p12Password.get();
      if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
        throw setting("pkcs12_password_file").get().error(f + " is not a readable file (create it with the"
            + " keystore password on its first line)");
      }
    }
    return Optional.of(new X509Output(
        names.get("svid_file_name").get(), names.get("svid_key_file_name").get(),
        names.get("svid_bundle_file_name").get(),
        bool("add_intermediates_to_bundle", false), bool("include_federated_domains", false),
        bool("omit_expired", false), pk8, p12.map(n -> new Pkcs12Output(n, p12Password))));
  }

  private List<JwtSvidOutput> jwtSvids() {
    Optional<Setting> s = setting("jwt_svids");
    if (s.isEmpty()) {
      return List.of();
    }
    Setting setting = s.get();
    if (setting.fromFlag()) {
      return jwtSvidsFromFlag(setting);
    }
    List<Value> items;
    if (setting.value() instanceof ListValue l) {
      items = l.items();
    } else if (setting.value() instanceof ObjectValue o) {
      items = List.of(o);
    } else {
      throw setting.error(setting.value().kind() + " (expected a list of objects: jwt_svids = [{ jwt_audience = \"...\","
          + " jwt_svid_file_name = \"...\" }])");
    }
    List<JwtSvidOutput> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      String label = source + ":" + items.get(i).line() + ": jwt_svids[" + i + "]";
      if (!(items.get(i) instanceof ObjectValue o)) {
        throw new HelperConfigException(label + ": " + items.get(i).kind() + " (expected an object with jwt_audience"
            + " and jwt_svid_file_name)");
      }
      List<String> unknown = new ArrayList<>();
      o.entries().forEach((k, v) -> {
        if (!JWT_SVID_KEYS.contains(k)) {
          unknown.add(UnknownKeys.describe(k, v.get(0).line(), JWT_SVID_KEYS));
        }
      });
      if (!unknown.isEmpty()) {
        throw new HelperConfigException(label + ": unknown key" + (unknown.size() > 1 ? "s " : " ")
            + String.join(", ", unknown) + " (expected jwt_audience, jwt_extra_audiences, jwt_svid_file_name)");
      }
      Map<String, Setting> fields = nested(o, label);
      String audience = fields.containsKey("jwt_audience") ? fields.get("jwt_audience").string() : "";
      if (audience.isEmpty()) {
        throw new HelperConfigException(label + ": jwt_audience is required (the audience the JWT-SVID is for)");
      }
      if (!fields.containsKey("jwt_svid_file_name") || fields.get("jwt_svid_file_name").string().isEmpty()) {
        throw new HelperConfigException(label + ": jwt_svid_file_name is required (the file the token is written to)");
      }
      String file = Setting.fileName(fields.get("jwt_svid_file_name"), fields.get("jwt_svid_file_name").string());
      List<String> extra = fields.containsKey("jwt_extra_audiences")
          ? fields.get("jwt_extra_audiences").strings() : List.of();
      out.add(new JwtSvidOutput(audience, extra, file));
    }
    return out;
  }

  /** {@code --jwt-svid AUDIENCE[,EXTRA...]=FILE}, repeatable. */
  private List<JwtSvidOutput> jwtSvidsFromFlag(Setting s) {
    List<JwtSvidOutput> out = new ArrayList<>();
    for (String item : s.strings()) {
      int eq = item.lastIndexOf('=');
      if (eq <= 0 || eq == item.length() - 1) {
        throw s.error("\"" + item + "\" (expected AUDIENCE=FILE or AUDIENCE,EXTRA_AUDIENCE=FILE)");
      }
      List<String> auds = List.of(item.substring(0, eq).split(","));
      if (auds.stream().anyMatch(String::isBlank)) {
        throw s.error("\"" + item + "\": an empty audience (expected AUDIENCE=FILE)");
      }
      String file = Setting.fileName(s, item.substring(eq + 1));
      out.add(new JwtSvidOutput(auds.get(0), auds.subList(1, auds.size()), file));
    }
    return out;
  }

  private Map<String, Setting> nested(ObjectValue o, String label) {
    Map<String, Setting> fields = new LinkedHashMap<>();
    o.entries().forEach((k, v) -> {
      if (v.size() > 1) {
        throw new HelperConfigException(label + ": " + k + ": set twice (keep one)");
      }
      fields.put(k, new Setting(label.substring(label.lastIndexOf(": ") + 2) + "." + k, v.get(0),
          source + ":" + v.get(0).line(), false));
    });
    return fields;
  }

  private Reload reload(boolean daemonMode) {
    Optional<String> cmd = string("cmd").filter(c -> !c.isEmpty());
    List<String> cmdArgs = commandLine("cmd_args");
    Optional<Path> pidFile = path("pid_file_name");
    Optional<RenewSignal> signal = string("renew_signal").filter(v -> !v.isEmpty()).map(v -> {
      try {
        return RenewSignal.parse(v);
      } catch (IllegalArgumentException e) {
        throw setting("renew_signal").get().error(e.getMessage());
      }
    });
    List<String> reloadCmd = commandLine("reload_cmd");
    Duration reloadTimeout = duration("reload_cmd_timeout", DEFAULT_RELOAD_CMD_TIMEOUT);

    if (!daemonMode) {
      if (pidFile.isPresent()) {
        throw setting("pid_file_name").get().error("only in daemon mode (daemon_mode = false writes once and exits;"
            + " remove pid_file_name or daemon_mode = false)");
      }
      if (cmd.isPresent()) {
        log.warn("{}: cmd is ignored because daemon_mode is false (the files are written once; nothing is started)",
            setting("cmd").get().label());
        cmd = Optional.empty();
        cmdArgs = List.of();
      }
    }
    if (cmd.isEmpty() && !cmdArgs.isEmpty()) {
      throw setting("cmd_args").get().error("only with cmd (cmd_args are the arguments of cmd)");
    }
    if (signal.isEmpty()) {
      if (cmd.isPresent()) {
        throw new HelperConfigException(label("renew_signal") + ": required with cmd (Rotor starts cmd once and sends"
            + " it renew_signal after each renewal, e.g. renew_signal = \"SIGHUP\"; to run a short command such as"
            + " psql -c \"SELECT pg_reload_conf()\" after each renewal, use reload_cmd instead of cmd)");
      }
      if (pidFile.isPresent()) {
        throw new HelperConfigException(label("renew_signal") + ": required with pid_file_name (the signal to send to"
            + " the process in the pid file, e.g. renew_signal = \"SIGHUP\")");
      }
    }
    return new Reload(cmd, cmdArgs, pidFile, signal, reloadCmd, reloadTimeout);
  }

  private HealthChecks healthChecks() {
    Map<String, Setting> fields = new LinkedHashMap<>();
    Optional<Setting> block = setting("health_checks");
    if (block.isPresent()) {
      Setting b = block.get();
      if (!(b.value() instanceof ObjectValue o)) {
        throw b.error(b.value().kind() + " (expected a block: health_checks { listener_enabled = true })");
      }
      List<String> unknown = new ArrayList<>();
      o.entries().forEach((k, v) -> {
        if (!HEALTH_KEYS.contains(k)) {
          unknown.add(UnknownKeys.describe(k, v.get(0).line(), HEALTH_KEYS));
        }
      });
      if (!unknown.isEmpty()) {
        throw new HelperConfigException(source + ":" + o.line() + ": health_checks: unknown key"
            + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)
            + " (expected listener_enabled, bind_port, liveness_path, readiness_path, bind_address)");
      }
      fields.putAll(nested(o, source + ":" + o.line() + ": health_checks"));
    }
    for (String k : HEALTH_KEYS) {
      setting("health_checks." + k).ifPresent(s -> fields.put(k, s));
    }
    boolean enabled = fields.containsKey("listener_enabled") && fields.get("listener_enabled").bool();
    int port = HealthChecks.DEFAULT_PORT;
    if (fields.containsKey("bind_port")) {
      Setting s = fields.get("bind_port");
      int p = s.integer();
      if (p < 0 || p > 65535) {
        throw s.error(p + " (expected a port from 1 to 65535; 0 means the default " + HealthChecks.DEFAULT_PORT + ")");
      }
      port = p == 0 ? HealthChecks.DEFAULT_PORT : p;
    }
    String address = "127.0.0.1";
    if (fields.containsKey("bind_address")) {
      Setting s = fields.get("bind_address");
      address = s.string();
      if (!address.equals("localhost") && !InetAddresses.isInetAddress(address)) {
        throw s.error("\"" + address + "\" is not an IP address (expected e.g. 127.0.0.1, or 0.0.0.0 for the probes"
            + " of a kubelet)");
      }
    }
    String live = httpPath(fields.get("liveness_path"), "/live");
    String ready = httpPath(fields.get("readiness_path"), "/ready");
    if (live.equals(ready)) {
      throw fields.getOrDefault("readiness_path", fields.get("liveness_path"))
          .error("\"" + ready + "\" is also the liveness path (expected two different paths)");
    }
    return new HealthChecks(enabled, address, port, live, ready);
  }

  private static String httpPath(Setting s, String dflt) {
    if (s == null) {
      return dflt;
    }
    String p = s.string();
    if (p.isEmpty()) {
      return dflt; // spiffe-helper: empty means the default
    }
    if (!p.startsWith("/") || p.contains(" ") || p.contains("?") || p.contains("#")) {
      throw s.error("\"" + p + "\" is not an HTTP path (expected e.g. " + dflt + ")");
    }
    return p;
  }

  private void checkDistinctNames(Optional<X509Output> x509, List<JwtSvidOutput> jwtSvids, Optional<String> jwtBundle) {
    Map<String, String> seen = new LinkedHashMap<>();
    List<Map.Entry<String, String>> all = new ArrayList<>();
    x509.ifPresent(x -> {
      all.add(Map.entry("svid_file_name", x.svidFileName()));
      all.add(Map.entry("svid_key_file_name", x.keyFileName()));
      all.add(Map.entry("svid_bundle_file_name", x.bundleFileName()));
      x.pkcs8DerKeyFileName().ifPresent(n -> all.add(Map.entry("pkcs8_der_key_file_name", n)));
      x.pkcs12().ifPresent(p -> all.add(Map.entry("pkcs12_file_name", p.fileName())));
    });
    for (int i = 0; i < jwtSvids.size(); i++) {
      all.add(Map.entry("jwt_svids[" + i + "].jwt_svid_file_name", jwtSvids.get(i).fileName()));
    }
    jwtBundle.ifPresent(n -> all.add(Map.entry("jwt_bundle_file_name", n)));
    for (Map.Entry<String, String> e : all) {
      String before = seen.putIfAbsent(e.getValue(), e.getKey());
      if (before != null) {
        throw new HelperConfigException(label(e.getKey()) + ": \"" + e.getValue() + "\" is also " + before
            + " (expected a different file name for each output)");
      }
    }
  }

  // ---- typed accessors ----

  private Optional<Setting> setting(String key) {
    return Optional.ofNullable(top.get(key));
  }

  /** The label of a key whether or not it was given. */
  private String label(String key) {
    String topKey = key.contains("[") ? key.substring(0, key.indexOf('[')) : key;
    Setting s = top.get(key) != null ? top.get(key) : top.get(topKey);
    if (s == null) {
      // Flags are the keys' names in kebab case: with no file, name the flag to add.
      return flagsOnly ? "--" + key.replace('_', '-') : source + ": " + key;
    }
    return s.fromFlag() ? s.where() : s.where() + ": " + key;
  }

  private Optional<String> string(String key) {
    return setting(key).map(Setting::string);
  }

  private Optional<String> fileName(String key) {
    Optional<Setting> s = setting(key);
    if (s.isEmpty()) {
      return Optional.empty();
    }
    String v = s.get().string();
    return v.isEmpty() ? Optional.empty() : Optional.of(Setting.fileName(s.get(), v));
  }

  private Optional<Path> path(String key) {
    return string(key).filter(v -> !v.isEmpty()).map(v -> {
      try {
        return workingDirectory.resolve(v).normalize();
      } catch (RuntimeException e) {
        throw setting(key).get().error("\"" + v + "\" is not a path");
      }
    });
  }

  private boolean bool(String key, boolean dflt) {
    return setting(key).map(Setting::bool).orElse(dflt);
  }

  private int mode(String key, int dflt) {
    return setting(key).map(st -> st.octalMode(dflt)).orElse(dflt);
  }

  /**
   * The mode a file really gets: the configured one less the umask, as spiffe-helper's files get it
   * from open(2) (0666 becomes 0644 under umask 022), and never writable by group or others whatever
   * the umask (a writable key or bundle could be replaced by another user). One WARN line at start
   * when the configuration asks for group or other write, and when a secret would be readable by
   * every user.
   */
  private int fileMode(String key, int dflt, Optional<String> secret) {
    int configured = mode(key, dflt);
    int mode = configured & ~umask;
    String label = setting(key).map(Setting::label).orElse(key);
    if ((mode & 0022) != 0) {
      log.warn("{}: {} lets group or others write the files; Rotor never creates a file that group or others can"
          + " write: they get {} (docs/file-writer.md, \"Modes and owners\")", label, FileSpec.octal(configured),
          FileSpec.octal(mode & ~0022));
      mode &= ~0022;
    }
    if (secret.isPresent() && (mode & 0007) != 0) {
      log.warn("{}: {} lets every user on this machine read {}; use 0600, or 0640 with a group that only its"
          + " readers are in (key_file_owner)", label, FileSpec.octal(mode), secret.get());
    }
    return mode;
  }

  private Optional<FileOwner> owner(String key) {
    Optional<Setting> s = setting(key);
    if (s.isEmpty()) {
      return Optional.empty();
    }
    String v = s.get().string();
    if (v.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(FileOwner.parse(v));
    } catch (IllegalArgumentException e) {
      throw s.get().error(e.getMessage());
    }
  }

  private List<String> commandLine(String key) {
    Optional<Setting> s = setting(key);
    if (s.isEmpty()) {
      return List.of();
    }
    try {
      return CommandLineSplitter.split(s.get().string());
    } catch (IllegalArgumentException e) {
      throw s.get().error(e.getMessage());
    }
  }

  private Duration duration(String key, Duration dflt) {
    Optional<Setting> s = setting(key);
    if (s.isEmpty()) {
      return dflt;
    }
    String v = s.get().string();
    Duration d;
    try {
      d = Durations.parse(v);
    } catch (RuntimeException e) {
      throw s.get().error("\"" + v + "\" is not a duration (expected e.g. 30s or 2m)");
    }
    if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofMinutes(10)) > 0) {
      throw s.get().error(v + " (expected: between 1s and 10m)");
    }
    return d;
  }

  private static String describe(Exception e) {
    String m = e.getMessage();
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

}
