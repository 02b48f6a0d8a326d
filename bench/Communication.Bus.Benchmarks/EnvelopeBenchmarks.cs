using System.Text;
using BenchmarkDotNet.Attributes;
using StackExchange.Redis;

namespace Communication.Bus.Benchmarks;

/// <summary>CPU cost of the hot path pieces: sign, verify, validate (parse + check an entry), serialize (build the entry).</summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private const string Id = "0190a5c4-7d2e-7b3a-9f1e-2c4d6e8fa0b1";
    private const long Ts = 1735689600000;
    private const string Topic = "agents.research";
    private const string From = "orchestration-api";
    private static readonly string[] To = ["researcher"];

    private readonly SigningKeyRing _ring = new([new SigningKey("k1", "bench-secret-0123456789abcdefghijklmnopqrstuv")]);
    private readonly Dictionary<string, string> _meta = new() { ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
    private readonly EnvelopeLimits _limits = new(512 * 1024, 64);
    private byte[] _payload = [];
    private OutgoingMessage _message = null!;
    private string _signature = "";
    private NameValueEntry[] _fields = [];
    private DateTimeOffset _now;

    /// <summary>Payload size in bytes.</summary>
    [Params(1024, 65536)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder("{\"task\":\"summarize\",\"items\":[");
        for (var i = 0; text.Length < PayloadBytes - 40; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("{\"n\":").Append(i).Append(",\"s\":\"lorem ipsum\"}");
        }

        _payload = Encoding.UTF8.GetBytes(text.Append("]}").ToString());
        _message = new OutgoingMessage(MessageType.Task, Topic, _payload) { To = To, CorrelationId = "run-1", ReplyTo = "reply.x" };
        _signature = Sign();
        _fields = EnvelopeCodec.ToFields(Id, Ts, _message, From, _meta, "k1", _signature);
        _now = DateTimeOffset.FromUnixTimeMilliseconds(Ts);
    }

    [Benchmark]
    public string Sign()
    {
        Span<byte> header = stackalloc byte[1024];
        var length = CanonicalBytes.WriteHeader(header, Id, Ts, MessageType.Task, QualityOfService.AtLeastOnce, Topic, From, To, "run-1", "reply.x");
        return SigningKeyRing.Sign(_ring.Keys, header[..length], _payload);
    }

    [Benchmark]
    public string? Verify()
    {
        Span<byte> header = stackalloc byte[1024];
        var length = CanonicalBytes.WriteHeader(header, Id, Ts, MessageType.Task, QualityOfService.AtLeastOnce, Topic, From, To, "run-1", "reply.x");
        return _ring.Verify(_signature, From, header[..length], _payload, _now, out _, out _);
    }

    [Benchmark]
    public string? SignAndVerify()
    {
        var signature = Sign();
        Span<byte> header = stackalloc byte[1024];
        var length = CanonicalBytes.WriteHeader(header, Id, Ts, MessageType.Task, QualityOfService.AtLeastOnce, Topic, From, To, "run-1", "reply.x");
        return _ring.Verify(signature, From, header[..length], _payload, _now, out _, out _);
    }

    /// <summary>Parse and validate a stream entry (every field, payload JSON well-formedness, size and depth).</summary>
    [Benchmark]
    public bool Validate() => EnvelopeCodec.TryRead(_fields, Topic, _limits, [], out _) is not null;

    /// <summary>Build the stream entry of an outgoing message (to/meta JSON, flat fields).</summary>
    [Benchmark]
    public NameValueEntry[] Serialize() => EnvelopeCodec.ToFields(Id, Ts, _message, From, _meta, "k1", _signature);
}
