package dev.rotor.node;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/** {@link FakeDelegatedIdentity} served in-process, and a client of it as Rotor's code uses one. */
final class FakeAgent implements AutoCloseable {

  final FakeDelegatedIdentity api = new FakeDelegatedIdentity();
  final DelegatedIdentityClient client;
  private final Server server;

  FakeAgent() {
    String name = InProcessServerBuilder.generateName();
    try {
      server = InProcessServerBuilder.forName(name).addService(api).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    client = new DelegatedIdentityClient("fake agent " + name,
        () -> InProcessChannelBuilder.forName(name).build(), () -> {});
  }

  @Override
  public void close() throws InterruptedException {
    client.close();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
