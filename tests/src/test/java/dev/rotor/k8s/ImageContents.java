package dev.rotor.k8s;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What each image of the demo is documented to contain: the executables and files a container's
 * {@code command}, an exec probe or {@code java -jar} may name. Images built here are read from
 * their Dockerfiles (base image + what they COPY); the others come from their publishers' build
 * files, cited per entry. A distroless image has no shell: {@code /bin/sh} or {@code /bin/bash}
 * as its command can never start (issue 15, W1: the spire-register Job in
 * registry.k8s.io/kubectl).
 *
 * @param source where the list comes from, for messages
 * @param files absolute paths known to exist
 * @param path directories a bare command name is looked up in ($PATH)
 */
record ImageContents(String source, Set<String> files, List<String> path) {

  private static final List<String> STANDARD_PATH = List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
      "/usr/bin", "/sbin", "/bin");

  /** Debian 12's essential packages, as far as commands go (bash, dash as sh, coreutils, ...). */
  private static final Set<String> DEBIAN = Set.of("/bin/bash", "/bin/sh", "/bin/cat", "/bin/sleep", "/bin/ls",
      "/usr/bin/env");

  /** Published images, by repository (no tag); each entry says where its contents are documented. */
  private static final Map<String, ImageContents> PUBLISHED = published();

  private static Map<String, ImageContents> published() {
    Map<String, ImageContents> m = new LinkedHashMap<>();
    m.put("gcr.io/distroless/java17-debian12", new ImageContents(
        "GoogleContainerTools/distroless java/README.md: no shell; the JDK's java as /usr/bin/java",
        Set.of("/usr/bin/java"), STANDARD_PATH));
    m.put("registry.k8s.io/kubectl", new ImageContents(
        "kubernetes/kubernetes build/server-image/kubectl/Dockerfile on the distroless go-runner base: /bin/kubectl"
            + " and no shell",
        Set.of("/bin/kubectl", "/go-runner"), STANDARD_PATH));
    m.put("docker.io/library/debian", new ImageContents("Debian 12 (essential packages)", DEBIAN, STANDARD_PATH));
    m.put("docker.io/envoyproxy/envoy", new ImageContents(
        "envoyproxy/envoy ci/Dockerfile-envoy: Ubuntu base, /usr/local/bin/envoy",
        Set.of("/usr/local/bin/envoy", "/bin/sh", "/bin/bash"), STANDARD_PATH));
    List<String> pgPath = new ArrayList<>(STANDARD_PATH);
    pgPath.add(0, "/usr/lib/postgresql/17/bin");
    m.put("docker.io/library/postgres", new ImageContents(
        "docker-library/postgres 17/bookworm/Dockerfile: Debian 12, PATH with /usr/lib/postgresql/17/bin",
        union(DEBIAN, Set.of("/usr/local/bin/docker-entrypoint.sh", "/usr/lib/postgresql/17/bin/postgres",
            "/usr/lib/postgresql/17/bin/pg_isready", "/usr/lib/postgresql/17/bin/psql")), pgPath));
    m.put("ghcr.io/spiffe/spire-server", new ImageContents(
        "spiffe/spire Dockerfile: scratch-based, /opt/spire/bin/spire-server, no shell",
        Set.of("/opt/spire/bin/spire-server"), List.of("/opt/spire/bin")));
    m.put("ghcr.io/spiffe/spire-agent", new ImageContents(
        "spiffe/spire Dockerfile: scratch-based, /opt/spire/bin/spire-agent, no shell",
        Set.of("/opt/spire/bin/spire-agent"), List.of("/opt/spire/bin")));
    m.put("ghcr.io/spiffe/spiffe-csi-driver", new ImageContents(
        "spiffe/spiffe-csi-driver Dockerfile: scratch-based, the driver binary only",
        Set.of("/spiffe-csi-driver"), List.of()));
    m.put("registry.k8s.io/sig-storage/csi-node-driver-registrar", new ImageContents(
        "kubernetes-csi/node-driver-registrar Dockerfile: distroless, the binary only",
        Set.of("/csi-node-driver-registrar"), List.of()));
    m.put("docker.io/curlimages/curl", new ImageContents(
        "curl/curl-container Dockerfile: Alpine (busybox sh), /usr/bin/curl",
        Set.of("/bin/sh", "/usr/bin/curl", "/bin/sleep"), STANDARD_PATH));
    return Map.copyOf(m);
  }

  /** The images built in this repository, by the name the overlays give them, and their Dockerfile. */
  static final Map<String, String> BUILT_HERE = Map.of(
      "rotor", "sds-server/Dockerfile",
      "rotor-demo", "demo/Dockerfile",
      "rotor-registrar", "deploy/registrar/Dockerfile");

  /** The contents of {@code image} ({@code name:tag} as rendered), or empty when nothing documents it. */
  static Optional<ImageContents> of(String image, Path repoRoot) {
    String repository = repository(image);
    if (BUILT_HERE.containsKey(repository)) {
      return Optional.of(fromDockerfile(repoRoot.resolve(BUILT_HERE.get(repository))));
    }
    return Optional.ofNullable(PUBLISHED.get(repository));
  }

  static String repository(String image) {
    String noDigest = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
    int slash = noDigest.lastIndexOf('/');
    int colon = noDigest.lastIndexOf(':');
    return colon > slash ? noDigest.substring(0, colon) : noDigest;
  }

  private static final Pattern FROM = Pattern.compile("(?m)^FROM\\s+(\\S+)(?:\\s+AS\\s+\\S+)?\\s*$",
      Pattern.CASE_INSENSITIVE);
  /** {@code COPY [--from=STAGE] SOURCE DEST}: one source, as the Dockerfiles here write it. */
  private static final Pattern COPY = Pattern.compile("(?m)^COPY\\s+(?:--from=\\S+\\s+)?(\\S+)\\s+(\\S+)\\s*$");

  /** The final stage of a Dockerfile: its base image's contents plus what it copies in. */
  static ImageContents fromDockerfile(Path dockerfile) {
    String text;
    try {
      text = Files.readString(dockerfile);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + dockerfile, e);
    }
    Matcher from = FROM.matcher(text);
    int lastFrom = -1;
    String base = null;
    while (from.find()) {
      lastFrom = from.start();
      base = from.group(1);
    }
    if (base == null) {
      throw new AssertionError(dockerfile + ": no FROM line");
    }
    String baseRepository = repository(base);
    ImageContents baseContents = Optional.ofNullable(PUBLISHED.get(baseRepository))
        .orElseThrow(() -> new AssertionError(dockerfile + ": base image " + baseRepository + " is not in"
            + " ImageContents (add its documented contents)"));
    Set<String> files = new LinkedHashSet<>(baseContents.files());
    String finalStage = text.substring(lastFrom);
    Matcher copy = COPY.matcher(finalStage);
    while (copy.find()) {
      String source = copy.group(1);
      String dest = copy.group(2);
      files.add(dest.endsWith("/") ? dest + source.substring(source.lastIndexOf('/') + 1) : dest);
    }
    return new ImageContents(dockerfile.getFileName() + " of " + dockerfile.getParent().getFileName() + " (FROM "
        + base + ": " + baseContents.source() + ")", files, baseContents.path());
  }

  /** Whether {@code command} (absolute, or a bare name looked up in {@link #path()}) exists here. */
  boolean hasExecutable(String command) {
    if (command.startsWith("/")) {
      return files.contains(command);
    }
    return path.stream().anyMatch(dir -> files.contains(dir + "/" + command));
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> s = new LinkedHashSet<>(a);
    s.addAll(b);
    return Set.copyOf(s);
  }
}
