package dev.rotor.files;

import static java.util.Objects.requireNonNull;

/**
 * One file to publish: its name in cert_dir, its bytes and how it must look on disk. The content
 * may be a private key: {@link #toString()} never shows it.
 */
public record OutputFile(String name, byte[] content, FileSpec spec) {

  public OutputFile {
    requireNonNull(name, "name");
    requireNonNull(content, "content");
    requireNonNull(spec, "spec");
  }

  @Override
  public String toString() {
    return "OutputFile{" + name + ", " + content.length + " bytes, " + spec + "}";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OutputFile f && f.name.equals(name) && java.util.Arrays.equals(f.content, content)
        && f.spec.equals(spec);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + java.util.Arrays.hashCode(content);
  }
}
