using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

// The PostgreSQL contract suites again, through PgBouncer in transaction pooling mode
// (DATABASE_POOLER=pgbouncer): no statement, lock or setting may outlive its transaction, because the
// next transaction of the same client connection may run on another server connection.

public sealed class PgBouncerJobsContractTests(ServiceFixture<PgBouncerBackend> service) : JobsContractTests<PgBouncerBackend>(service);

public sealed class PgBouncerBatchIngestContractTests(ServiceFixture<PgBouncerBackend> service) : BatchIngestContractTests<PgBouncerBackend>(service);

public sealed class PgBouncerLifecycleEventContractTests(ServiceFixture<PgBouncerBackend> service)
    : LifecycleEventContractTests<PgBouncerBackend>(service);

public sealed class PgBouncerConcurrencyTests(ServiceFixture<PgBouncerBackend> service) : ConcurrencyTests<PgBouncerBackend>(service);

public sealed class PgBouncerSampleIdentityTests(ServiceFixture<PgBouncerBackend> service) : SampleIdentityTests<PgBouncerBackend>(service);

public sealed class PgBouncerNodeHeartbeatTests(ServiceFixture<PgBouncerBackend> service) : NodeHeartbeatTests<PgBouncerBackend>(service);

public sealed class PgBouncerWriteHeaderTests(ServiceFixture<PgBouncerBackend> service) : WriteHeaderTests<PgBouncerBackend>(service);
