package dev.rotor.xds.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import dev.rotor.policy.Action;
import dev.rotor.policy.Inbound;
import dev.rotor.policy.PeerMatcher;
import dev.rotor.policy.Policy;
import dev.rotor.policy.Protocol;
import dev.rotor.policy.Rule;
import dev.rotor.policy.Upstream;
import dev.rotor.policy.Workload;
import dev.rotor.policy.WorkloadMatch;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.validate.ProtoConstraints;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Invariants of everything the builder emits, over the demo and a policy that uses every feature. */
class WorkloadResourcesBuilderTest {

  private static final WorkloadResourcesBuilder.Options ADS = WorkloadResourcesBuilder.Options.defaults();
  private static final WorkloadResourcesBuilder.Options GRPC = new WorkloadResourcesBuilder.Options(
      SdsSecretConfigs.overGrpc("rotor", SecretNaming.SPIRE_DEFAULTS), Duration.ofMillis(250));

  private static List<WorkloadResources> allWorkloads(Policy p, WorkloadResourcesBuilder.Options o) {
    return p.workloads().stream().map(w -> WorkloadResourcesBuilder.build(p, w, o)).toList();
  }

  private static List<Message> resources(WorkloadResources r) {
    return Stream.<Message>concat(r.listeners().stream(), r.clusters().stream()).toList();
  }

  @Test
  void everyEmittedResource_passesEnvoysConstraints() {
    for (Policy p : List.of(DemoPolicies.demo(), DemoPolicies.everything())) {
      for (WorkloadResourcesBuilder.Options o : List.of(ADS, GRPC)) {
        for (WorkloadResources r : allWorkloads(p, o)) {
          for (Message m : resources(r)) {
            assertThat(ProtoConstraints.validate(m)).as("%s", name(m)).isEmpty();
          }
          for (var res : Stream.concat(r.listenerResources().stream(), r.clusterResources().stream()).toList()) {
            assertThat(ProtoConstraints.validate(res.body())).as(res.name()).isEmpty();
          }
        }
      }
    }
  }

  @Test
  void everySdsSecretConfig_isByteIdenticalToTheSharedOne() {
    for (Policy p : List.of(DemoPolicies.demo(), DemoPolicies.everything())) {
      for (WorkloadResourcesBuilder.Options o : List.of(ADS, GRPC)) {
        Map<String, ByteString> expected = Map.of(
            "default", o.sds().certificate().toByteString(),
            "ROOTCA", o.sds().validation(false).toByteString(),
            "ALL", o.sds().validation(true).toByteString());
        int seen = 0;
        for (WorkloadResources r : allWorkloads(p, o)) {
          for (Message resource : resources(r)) {
            for (Message sds : MessageTree.ofType(resource, SdsSecretConfig.getDescriptor())) {
              String secretName = (String) sds.getField(sds.getDescriptorForType().findFieldByName("name"));
              assertThat(expected).containsKey(secretName);
              assertThat(sds.toByteString()).as("%s in %s", secretName, name(resource)).isEqualTo(expected.get(secretName));
              seen++;
            }
          }
        }
        assertThat(seen).isPositive();
      }
    }
  }

  @Test
  void sdsConfigSource_isTheSameEverywhere() {
    for (WorkloadResources r : allWorkloads(DemoPolicies.everything(), GRPC)) {
      for (Message resource : resources(r)) {
        for (SdsSecretConfig sds : MessageTree.unpacked(resource, SdsSecretConfig.getDefaultInstance())) {
          assertThat(sds.getSdsConfig()).isEqualTo(GRPC.sds().configSource());
        }
      }
    }
  }

  @Test
  void denyFilter_onlyWhenDenyRulesExist() {
    Listener demo = build(DemoPolicies.demo(), "backend").listener("inbound_8080").orElseThrow();
    assertThat(httpFilterNames(demo)).containsExactly("envoy.filters.http.rbac.allow", "envoy.filters.http.router");
    Listener api = build(DemoPolicies.everything(), "api").listener("inbound_8443").orElseThrow();
    assertThat(httpFilterNames(api))
        .containsExactly("envoy.filters.http.rbac.deny", "envoy.filters.http.rbac.allow", "envoy.filters.http.router");
  }

  @Test
  void rbacPolicies_areNamedByRuleIndex_andSplitByAction() {
    Listener api = build(DemoPolicies.everything(), "api").listener("inbound_8443").orElseThrow();
    List<RBAC> rbacs = MessageTree.unpacked(api, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDefaultInstance())
        .stream().map(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC::getRules).toList();
    assertThat(rbacs).extracting(RBAC::getAction).containsExactly(RBAC.Action.DENY, RBAC.Action.ALLOW);
    assertThat(rbacs.get(0).getPoliciesMap().keySet()).containsExactly("rules[1]", "rules[4]");
    assertThat(rbacs.get(1).getPoliciesMap().keySet()).containsExactly("rules[0]", "rules[2]", "rules[3]");
  }

  @Test
  void tcpInbound_usesNetworkRbacThenTcpProxy() {
    Listener db = build(DemoPolicies.everything(), "db").listener("inbound_5432").orElseThrow();
    assertThat(db.getFilterChains(0).getFiltersList()).extracting(Filter::getName).containsExactly(
        "envoy.filters.network.rbac.deny", "envoy.filters.network.rbac.allow", "envoy.filters.network.tcp_proxy");
    List<io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC> rbacs =
        MessageTree.unpacked(db, io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDefaultInstance());
    assertThat(rbacs).extracting(r -> r.getRules().getAction()).containsExactly(RBAC.Action.DENY, RBAC.Action.ALLOW);
    assertThat(rbacs).extracting(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC::getStatPrefix)
        .containsExactly("inbound_5432_deny.", "inbound_5432_allow.");
  }

  @Test
  void federatedPeers_validateWithAllBundles_othersWithTheOwnBundle() {
    assertThat(validationNames(build(DemoPolicies.everything(), "api"))).containsOnly("ALL");
    assertThat(validationNames(build(DemoPolicies.everything(), "db"))).containsOnly("ROOTCA");
    assertThat(validationNames(build(DemoPolicies.demo(), "backend"))).containsOnly("ROOTCA");
    assertThat(validationNames(build(DemoPolicies.demo(), "frontend"))).containsOnly("ROOTCA");
  }

  @Test
  void federation_withoutATrustDomainInThePolicy_isJudgedByTheWorkloadsOwnIds() {
    Workload w = new Workload("w", new WorkloadMatch(Set.of(), Set.of(SpiffeId.parse("spiffe://a.org/w"))), Optional.empty(),
        List.of(new Upstream("x", 7000, "x.b.org", 443, List.of(SpiffeId.parse("spiffe://b.org/x")))));
    assertThat(WorkloadResourcesBuilder.federated(Policy.of(1, Optional.empty(), List.of(w)), w)).isTrue();
    Workload anonymous = new Workload("w", new WorkloadMatch(Set.of("node"), Set.of()), Optional.empty(),
        List.of(new Upstream("x", 7000, "x.b.org", 443, List.of(SpiffeId.parse("spiffe://b.org/x")))));
    assertThat(WorkloadResourcesBuilder.federated(Policy.of(1, Optional.empty(), List.of(anonymous)), anonymous)).isFalse();
  }

  @Test
  void upstreamByIpAddress_isStatic_withoutSni() {
    Cluster cache = build(DemoPolicies.everything(), "api").cluster("outbound_cache").orElseThrow();
    assertThat(cache.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    UpstreamTlsContext tls = MessageTree.unpacked(cache, UpstreamTlsContext.getDefaultInstance()).get(0);
    assertThat(tls.getSni()).isEmpty();
    assertThat(tls.getCommonTlsContext().getCombinedValidationContext().getDefaultValidationContext()
        .getMatchTypedSubjectAltNamesList()).extracting(m -> m.getMatcher().getExact())
        .containsExactly("spiffe://example.org/ns/prod/sa/cache-b", "spiffe://example.org/ns/prod/sa/cache-a");
  }

  @Test
  void listenersAndClusters_areSortedByName() {
    WorkloadResources api = build(DemoPolicies.everything(), "api");
    assertThat(api.listeners()).extracting(Listener::getName)
        .containsExactly("inbound_8443", "outbound_cache", "outbound_db");
    assertThat(api.clusters()).extracting(Cluster::getName)
        .containsExactly("local_app", "outbound_cache", "outbound_db");
  }

  @Test
  void connectTimeout_comesFromTheOptions() {
    for (Cluster c : build(DemoPolicies.everything(), "api", GRPC).clusters()) {
      assertThat(c.getConnectTimeout()).isEqualTo(com.google.protobuf.Duration.newBuilder().setNanos(250_000_000).build());
    }
  }

  @Test
  void workloadOfAnotherPolicy_isRefused() {
    Workload stranger = DemoPolicies.everything().workload("db").orElseThrow();
    assertThatThrownBy(() -> WorkloadResourcesBuilder.build(DemoPolicies.demo(), stranger, ADS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("workload db");
  }

  @Test
  void resourceEnvoyWouldReject_isRefusedWithTheViolation() {
    // The policy model already refuses what would break Envoy's constraints (ports, host names),
    // so exercise the last line of defence directly.
    Cluster bad = Cluster.newBuilder().setName("outbound_x").setConnectTimeout(com.google.protobuf.Duration.getDefaultInstance()).build();
    assertThatThrownBy(() -> WorkloadResourcesBuilder.requireValid("workload w: cluster outbound_x", bad))
        .isInstanceOf(UntranslatablePolicyException.class)
        .hasMessage("workload w: cluster outbound_x: Envoy would reject it:"
            + " connect_timeout: 0s (expected: > 0s) [duration.gt]");
  }

  @Test
  void options_refuseANonPositiveConnectTimeout() {
    assertThatThrownBy(() -> new WorkloadResourcesBuilder.Options(ADS.sds(), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("connectTimeout: PT0S (expected: > 0)");
  }

  @Test
  void singleRuleInbound_allowOnly() {
    Workload w = new Workload("w", new WorkloadMatch(Set.of("n"), Set.of()),
        Optional.of(new Inbound(7000, 7001, Protocol.TCP, List.of(
            new Rule(0, Action.ALLOW, List.of(new PeerMatcher.InTrustDomain(TrustDomain.parse("example.org"))), List.of(), List.of(), "")))),
        List.of());
    Policy p = Policy.of(1, Optional.empty(), List.of(w));
    Listener l = WorkloadResourcesBuilder.build(p, w, ADS).listeners().get(0);
    assertThat(l.getFilterChains(0).getFiltersList()).extracting(Filter::getName)
        .containsExactly("envoy.filters.network.rbac.allow", "envoy.filters.network.tcp_proxy");
  }

  private static WorkloadResources build(Policy p, String workload) {
    return build(p, workload, ADS);
  }

  private static WorkloadResources build(Policy p, String workload, WorkloadResourcesBuilder.Options o) {
    return WorkloadResourcesBuilder.build(p, p.workload(workload).orElseThrow(), o);
  }

  private static List<String> httpFilterNames(Listener l) {
    return MessageTree.unpacked(l, HttpConnectionManager.getDefaultInstance()).get(0)
        .getHttpFiltersList().stream().map(HttpFilter::getName).toList();
  }

  private static Set<String> validationNames(WorkloadResources r) {
    Map<String, Integer> names = new TreeMap<>();
    List<Message> all = new ArrayList<>();
    resources(r).forEach(m -> all.addAll(MessageTree.unpacked(m, SdsSecretConfig.getDefaultInstance())));
    for (Message m : all) {
      names.merge(((SdsSecretConfig) m).getName(), 1, Integer::sum);
    }
    names.remove("default");
    return names.keySet();
  }

  private static String name(Message m) {
    if (m instanceof Listener l) {
      return "listener " + l.getName();
    }
    if (m instanceof Cluster c) {
      return "cluster " + c.getName();
    }
    return m.getDescriptorForType().getName();
  }
}
