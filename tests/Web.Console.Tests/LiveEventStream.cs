using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Web.Console.Tests;

/// <summary>
/// A run's SSE event stream as orchestration-api sends it, held open: the test writes each event when it wants, and
/// <see cref="Closed"/> completes when the reader (the console's feed) lets go of the response.
/// </summary>
internal sealed class LiveEventStream
{
    private readonly Pipe _pipe = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    public Task Closed => _closed.Task;

    public int Opened { get; private set; }

    public HttpResponseMessage Open()
    {
        Opened++;
        var content = new StreamContent(new WatchedStream(_pipe.Reader.AsStream(), _closed));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    public async Task SendAsync(string runId, string type, string? stepId = null)
    {
        var id = $"{++_nextId}-0";
        var step = stepId is null ? "" : $""","stepId":"{stepId}","attempt":1""";
        var frame = $"id: {id}\nevent: {type}\ndata: {{\"type\":\"{type}\",\"runId\":\"{runId}\",\"at\":\"2026-12-05T12:00:0{_nextId % 10}Z\"{step}}}\n\n";
        await _pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes(frame));
    }

    private sealed class WatchedStream(Stream inner, TaskCompletionSource closed) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                closed.TrySetResult();
            }

            base.Dispose(disposing);
        }
    }
}
