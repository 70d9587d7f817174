// One job host at a time: a worker is one host per process in production, and Hangfire keeps process-wide state
// (filters, the serializer settings) that two hosts in one test process would share.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
