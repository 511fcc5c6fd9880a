package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.io.IOException;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fake must behave like SPIRE where the source depends on it. */
class FakeWorkloadApiTest {

  private final FakeWorkloadApi agent = new FakeWorkloadApi();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(agent.service()).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void callWithoutSecurityHeader_isRejectedWithInvalidArgument() {
    Iterator<X509SVIDResponse> stream =
        SpiffeWorkloadAPIGrpc.newBlockingStub(channel).fetchX509SVID(X509SVIDRequest.getDefaultInstance());

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, stream::hasNext);

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).isEqualTo("security header missing from request");
    assertThat(agent.rejectedWithoutHeader()).isEqualTo(1);
    assertThat(agent.connections()).isZero();
  }

  @Test
  void callWithSecurityHeader_receivesTheCurrentResponse() {
    X509SVIDResponse current = X509SVIDResponse.newBuilder()
        .addSvids(TestPki.forTrustDomain("example.org").svid("spiffe://example.org/a", ""))
        .build();
    agent.push(current);
    Metadata headers = new Metadata();
    headers.put(WorkloadApiSource.SECURITY_HEADER, "true");

    Iterator<X509SVIDResponse> stream = SpiffeWorkloadAPIGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .fetchX509SVID(X509SVIDRequest.getDefaultInstance());

    assertThat(stream.next()).isEqualTo(current);
    assertThat(agent.connections()).isEqualTo(1);
  }
}
