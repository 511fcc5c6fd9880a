package dev.rotor.config;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Walks every message inside an Envoy resource, typed configs ({@link Any}) included, as Envoy
 * would see them. An {@code Any} of a type the walker does not know fails the walk, so a new kind
 * of filter cannot hide a secret reference from the tests that look for them.
 */
final class ResourceWalker {

  private static final Map<String, Class<? extends Message>> KNOWN = Stream.<Class<? extends Message>>of(
          Listener.class, Cluster.class, DownstreamTlsContext.class, UpstreamTlsContext.class,
          HttpConnectionManager.class, Router.class, TcpProxy.class,
          io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class,
          io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class,
          io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config.class)
      .collect(Collectors.toMap(ResourceWalker::typeUrl, c -> c));

  private ResourceWalker() {}

  /** Every {@link SdsSecretConfig} in {@code resource}, in walk order. */
  static List<SdsSecretConfig> secretReferences(Message resource) {
    List<SdsSecretConfig> found = new ArrayList<>();
    walk(resource, m -> {
      if (m instanceof SdsSecretConfig s) {
        found.add(s);
      }
    });
    return found;
  }

  /** Every string value in {@code resource} (names, SPIFFE IDs in RBAC and SAN matchers, ...). */
  static Set<String> strings(Message resource) {
    Set<String> found = new TreeSet<>();
    walk(resource, m -> m.getAllFields().forEach((f, v) -> {
      if (f.getJavaType() == FieldDescriptor.JavaType.STRING) {
        if (f.isRepeated()) {
          ((List<?>) v).forEach(s -> found.add((String) s));
        } else {
          found.add((String) v);
        }
      }
    }));
    return found;
  }

  private static void walk(Message m, Consumer<Message> visit) {
    if (m instanceof Any any) {
      walk(unpack(any), visit);
      return;
    }
    visit.accept(m);
    m.getAllFields().forEach((f, v) -> {
      if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        return;
      }
      if (f.isRepeated()) {
        ((List<?>) v).forEach(x -> walk((Message) x, visit));
      } else {
        walk((Message) v, visit);
      }
    });
  }

  private static Message unpack(Any any) {
    Class<? extends Message> type = KNOWN.get(any.getTypeUrl());
    if (type == null) {
      throw new AssertionError("typed config of an unknown type " + any.getTypeUrl()
          + " (add it to ResourceWalker so its secret references are checked)");
    }
    return AdsWire.unpack(any, type);
  }

  private static String typeUrl(Class<? extends Message> type) {
    try {
      Message instance = (Message) type.getMethod("getDefaultInstance").invoke(null);
      return "type.googleapis.com/" + instance.getDescriptorForType().getFullName();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }
}
