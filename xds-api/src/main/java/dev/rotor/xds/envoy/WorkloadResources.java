package dev.rotor.xds.envoy;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.rotor.xds.Resource;
import dev.rotor.xds.ResourceVersions;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The LDS and CDS resources of one workload's Envoy, sorted by name. Immutable; each resource is
 * packed into an {@link Any} once, here, and versioned by its bytes, so every stream that serves
 * it sends the same encoding.
 */
public final class WorkloadResources {
  private final List<Listener> listeners;
  private final List<Cluster> clusters;
  private final List<Resource> listenerResources;
  private final List<Resource> clusterResources;

  public WorkloadResources(List<Listener> listeners, List<Cluster> clusters) {
    this.listeners = List.copyOf(requireNonNull(listeners, "listeners"));
    this.clusters = List.copyOf(requireNonNull(clusters, "clusters"));
    this.listenerResources = pack(this.listeners, Listener::getName);
    this.clusterResources = pack(this.clusters, Cluster::getName);
  }

  public List<Listener> listeners() {
    return listeners;
  }

  public List<Cluster> clusters() {
    return clusters;
  }

  /** The listeners as LDS resources (same order as {@link #listeners()}). */
  public List<Resource> listenerResources() {
    return listenerResources;
  }

  /** The clusters as CDS resources (same order as {@link #clusters()}). */
  public List<Resource> clusterResources() {
    return clusterResources;
  }

  /** The listener with this name, if any. */
  public Optional<Listener> listener(String name) {
    return listeners.stream().filter(l -> l.getName().equals(name)).findFirst();
  }

  /** The cluster with this name, if any. */
  public Optional<Cluster> cluster(String name) {
    return clusters.stream().filter(c -> c.getName().equals(name)).findFirst();
  }

  private static <T extends Message> List<Resource> pack(List<T> messages, Function<T, String> name) {
    return messages.stream().map(m -> {
      Any body = Any.pack(m);
      return new Resource(name.apply(m), ResourceVersions.of(body), body, Optional.empty());
    }).toList();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WorkloadResources other && listeners.equals(other.listeners) && clusters.equals(other.clusters);
  }

  @Override
  public int hashCode() {
    return 31 * listeners.hashCode() + clusters.hashCode();
  }

  @Override
  public String toString() {
    return "WorkloadResources{listeners=" + listenerResources + ", clusters=" + clusterResources + "}";
  }
}
