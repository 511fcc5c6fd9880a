package dev.rotor.envoyconfigs;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Reads a bootstrap file as Envoy's {@code Bootstrap} message and nothing looser: YAML to JSON
 * ({@link YamlJson}), then {@link JsonFormat} <em>without</em> {@code ignoringUnknownFields()}, so
 * a misspelled or unknown field is an error here, as it is for Envoy.
 */
final class StrictBootstrapParser {

  /**
   * Every type packed in an {@code Any} in the bootstraps. A type missing here fails the parse
   * ("Cannot find type for url"), so a new {@code typed_config} cannot slip in unchecked.
   */
  static final TypeRegistry TYPES = TypeRegistry.newBuilder()
      .add(HttpProtocolOptions.getDescriptor())
      .build();

  private StrictBootstrapParser() {}

  static Bootstrap parse(Path file) {
    requireNonNull(file, "file");
    String yaml;
    try {
      yaml = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read", e);
    }
    return parse(file.getFileName().toString(), yaml);
  }

  /**
   * Parses {@code yaml}; an error message starts with {@code name}.
   *
   * @throws IllegalArgumentException when the text is not YAML, has a duplicate or empty key, or
   *     is not a valid {@code Bootstrap} in proto3 JSON terms (unknown field, unknown Any type, bad
   *     enum, bad duration)
   */
  static Bootstrap parse(String name, String yaml) {
    requireNonNull(name, "name");
    String json;
    try {
      json = YamlJson.toJson(yaml);
    } catch (YamlEngineException | IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
    }
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    try {
      JsonFormat.parser().usingTypeRegistry(TYPES).merge(json, bootstrap);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(name + ": not a valid Envoy Bootstrap: " + e.getMessage(), e);
    }
    return bootstrap.build();
  }
}
