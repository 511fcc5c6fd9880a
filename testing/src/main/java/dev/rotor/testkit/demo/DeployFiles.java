package dev.rotor.testkit.demo;

import dev.rotor.testkit.DemoPolicy;
import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.TemplateFile;
import dev.rotor.testkit.postgres.PostgresSetup;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The files of the Kubernetes demo that the local demo runs as they are, with only paths and ports
 * substituted (each substitution must match exactly once, see {@link TemplateFile}): the Envoy
 * bootstraps, the policy, both {@code helper.conf} files, and PostgreSQL's client authentication
 * and first-start SQL. The Kubernetes manifests mount the same files (a test in {@code tests/}
 * compares the rendered ConfigMaps with {@link #ALL}), so what runs here is what a cluster gets.
 */
public final class DeployFiles {
  private static final String DEMO = "deploy/kustomize/base/demo/";
  public static final String HELPER_BACKEND = DEMO + "helper-backend.conf";
  public static final String HELPER_POSTGRES = DEMO + "helper-postgres.conf";
  public static final String PG_HBA = DEMO + "pg_hba.conf";
  public static final String PG_IDENT = DEMO + "pg_ident.conf";
  public static final String INIT_SQL = DEMO + "init-demo.sql";
  public static final String FRONTEND_BOOTSTRAP = "envoy-configs/frontend-envoy.yaml";
  public static final String BACKEND_BOOTSTRAP = "envoy-configs/backend-envoy.yaml";

  /** Every file the local demo reads from the Kubernetes demo, repository-relative. */
  public static final List<String> ALL = List.of(FRONTEND_BOOTSTRAP, BACKEND_BOOTSTRAP, DemoPolicy.FILE,
      HELPER_BACKEND, HELPER_POSTGRES, PG_HBA, PG_IDENT, INIT_SQL);

  /** The Workload API socket both helper files name (the SPIFFE CSI driver's mount in the pods). */
  static final String POD_AGENT_ADDRESS = "agent_address = \"unix:///spiffe-workload-api/spire-agent.sock\"";

  private static final Pattern CREATE_DATABASE = Pattern.compile("(?m)^CREATE DATABASE (\\w+) OWNER (\\w+);$");

  private DeployFiles() {}

  /** The backend's helper.conf for {@code rotor serve --helper-config}: the agent and the cert directory. */
  static TemplateFile backendHelper(String agentSocketUri, Path certDir) {
    return TemplateFile.fromFile(RepoRoot.resolve(HELPER_BACKEND))
        .replaceOnce(POD_AGENT_ADDRESS, "agent_address = \"" + agentSocketUri + "\"")
        .replaceOnce("cert_dir = \"/run/db-tls\"", "cert_dir = \"" + certDir + "\"");
  }

  /**
   * PostgreSQL's helper.conf for {@code rotor write-certs}: the agent, the cert directory, the
   * postmaster's PID file, and the health listener's port (8081 may be taken here).
   */
  static TemplateFile postgresHelper(String agentSocketUri, Path certDir, Path pidFile, int healthPort) {
    return TemplateFile.fromFile(RepoRoot.resolve(HELPER_POSTGRES))
        .replaceOnce(POD_AGENT_ADDRESS, "agent_address = \"" + agentSocketUri + "\"")
        .replaceOnce("cert_dir = \"/run/pg-tls\"", "cert_dir = \"" + certDir + "\"")
        .replaceOnce("pid_file_name = \"/run/postgresql-pid/postmaster.pid\"", "pid_file_name = \"" + pidFile + "\"")
        .replaceOnce("bind_port = 8081", "bind_port = " + healthPort);
  }

  /**
   * PostgreSQL as the demo's pod runs it: its {@code pg_hba.conf} and {@code pg_ident.conf}, the
   * statements of {@code init-demo.sql} (one per line), the database and role that file creates,
   * and the TLS file names PostgreSQL's helper.conf writes.
   */
  static PostgresSetup postgresSetup() {
    String sql = read(INIT_SQL);
    Matcher database = CREATE_DATABASE.matcher(sql);
    if (!database.find()) {
      throw new IllegalStateException(INIT_SQL + ": no line `CREATE DATABASE <name> OWNER <role>;`"
          + " (expected: the demo's database and its owner, the role the backend logs in as)");
    }
    List<String> statements = Arrays.stream(sql.split("\n"))
        .map(String::strip)
        .filter(line -> !line.isEmpty() && !line.startsWith("--"))
        .toList();
    TemplateFile helper = TemplateFile.fromFile(RepoRoot.resolve(HELPER_POSTGRES));
    return new PostgresSetup(database.group(1), database.group(2), read(PG_HBA), read(PG_IDENT), statements,
        new PostgresSetup.TlsFileNames(setting(helper, "svid_file_name"), setting(helper, "svid_key_file_name"),
            setting(helper, "svid_bundle_file_name")));
  }

  /** A string setting of a helper.conf, e.g. {@code svid_file_name}. */
  static String setting(TemplateFile helper, String key) {
    Matcher m = Pattern.compile("(?m)^\\s*" + Pattern.quote(key) + "\\s*=\\s*\"([^\"]*)\"").matcher(helper.text());
    if (!m.find()) {
      throw new IllegalStateException(helper + ": no setting " + key + " = \"...\"");
    }
    return m.group(1);
  }

  private static String read(String file) {
    return TemplateFile.fromFile(RepoRoot.resolve(file)).text();
  }
}
