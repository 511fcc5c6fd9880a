# Start-up of the file writer: process start -> first files written (svid.pem appears), and -> exit,
# N runs per variant, interleaved (docs/file-writer.md, "Start-up time"). Needs a SPIRE agent at
# /tmp/rs/agent.sock (spire/run-local.sh /tmp/rs), spiffe-helper (bench/build-spiffe-helper.sh) and
# sds-server/target/rotor.jar; the AppCDS row runs when /tmp/su/rotor.jsa exists (made by one run with
# -XX:ArchiveClassesAtExit=/tmp/su/rotor.jsa and the same options). Usage: python3 THIS [N]
import os, shutil, subprocess, sys, time, statistics
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
JAR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../sds-server/target/rotor.jar")
SIDECAR = "-XX:+UseSerialGC -Xss512k -Xms16m -Xmx48m -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=32m -XX:TieredStopAtLevel=1 -Xshare:auto -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData".split()
variants = {
  "spiffe-helper v0.11.0": [os.path.expanduser("~/.cache/rotor/spiffe-helper-v0.11.0/bin/spiffe-helper"), "-config", "helper.conf", "-daemon-mode=false"],
  "rotor, sidecar JVM options (images)": ["java"] + SIDECAR + ["-jar", JAR, "write-certs", "-config", "helper.conf", "-daemon-mode=false"],
}
if os.path.exists("/tmp/su/rotor.jsa"):
  variants["rotor, sidecar options + AppCDS archive (not in images)"] = ["java"] + SIDECAR + ["-XX:SharedArchiveFile=/tmp/su/rotor.jsa", "-jar", JAR, "write-certs", "-config", "helper.conf", "-daemon-mode=false"]
res = {k: ([], []) for k in variants}
for i in range(N):
  for name, cmd in variants.items():
    d = "/tmp/su/run"; shutil.rmtree(d, ignore_errors=True); os.makedirs(d + "/certs"); os.chmod(d + "/certs", 0o755)
    open(d + "/helper.conf", "w").write('agent_address = "/tmp/rs/agent.sock"\ncert_dir = "certs"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n')
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    while p.poll() is None or first is None:
      if first is None and os.path.exists(d + "/certs/svid.pem"):
        first = time.monotonic() - t0
      if p.poll() is not None and first is None:
        first = float("nan"); break
      time.sleep(0.001)
    p.wait(); total = time.monotonic() - t0
    assert p.returncode == 0, (name, p.returncode)
    res[name][0].append(first); res[name][1].append(total)
print(f"N={N} per variant; loadavg at end {os.getloadavg()}")
for name, (f, t) in res.items():
  f.sort(); t.sort()
  print(f"{name:58s} first files: median {statistics.median(f):.3f} s (min {f[0]:.3f}, max {f[-1]:.3f}); exit: median {statistics.median(t):.3f} s")
