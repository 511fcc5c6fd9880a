package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz targets for what Rotor reads from outside before the gate sees it: the SPIRE agent's
 * {@code X509SVIDResponse} (DER certificates, PKCS#8 keys, bundles, SPIFFE IDs) and the Workload
 * API address. Each either yields a value or fails with its own documented exception, naming the
 * field; anything else is a finding. Seeds and past findings: {@code WorkloadApiFuzzTestInputs/}.
 */
class WorkloadApiFuzzTest {

  @FuzzTest(maxDuration = "60s", maxExecutions = 1_000_000)
  void svidResponse(byte[] input) {
    X509SVIDResponse response;
    try {
      response = X509SVIDResponse.parseFrom(input);
    } catch (InvalidProtocolBufferException notProtobuf) {
      return; // gRPC would have refused the message before Rotor saw it
    }
    IdentitySnapshot snapshot;
    try {
      snapshot = X509SvidResponses.toSnapshot(response);
    } catch (MalformedResponseException e) {
      assertThat(e.getMessage()).as("why the response was refused").isNotBlank();
      return;
    }
    assertThat(snapshot.svids()).hasSize(response.getSvidsCount());
    for (Svid svid : snapshot.svids()) {
      assertThat(snapshot.bundle(svid.spiffeId().getTrustDomain()))
          .as("the bundle of %s's trust domain", svid.spiffeId()).isPresent();
    }
  }

  @FuzzTest(maxDuration = "30s", maxExecutions = 1_000_000)
  void address(byte[] input) {
    String value = new String(input, StandardCharsets.UTF_8);
    try {
      WorkloadApiAddress address = WorkloadApiAddress.parse(value);
      assertThat(address.uri()).isNotBlank();
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).as("the error for %s", value).startsWith(WorkloadApiAddress.FLAG);
    }
  }
}
