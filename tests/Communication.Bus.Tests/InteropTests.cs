using System.Diagnostics;
using System.Text.Json;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>A Python agent written from PROTOCOL.md (standard library + redis-cli) talks to the C# bus.</summary>
public class InteropTests(RedisFixture redis)
{
    private static string Script => Path.Combine(Repo.Root, "tests", "interop", "bus_interop.py");

    private static async Task<(int ExitCode, string Output, string Error)> RunPythonAsync(params string[] args)
    {
        var python = RedisServer.FindOnPath("python3") ?? throw new InvalidOperationException(
            "python3 is not on PATH: the interop test needs Python 3 (standard library only), e.g. 'apt-get install -y python3'.");
        if (RedisServer.FindOnPath("redis-cli") is null)
        {
            throw new InvalidOperationException("redis-cli is not on PATH: the interop test needs it (it comes with the redis-server package).");
        }

        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task The_python_agent_agrees_with_the_protocol_test_vectors()
    {
        var (exitCode, output, error) = await RunPythonAsync("vectors", Path.Combine(Repo.Root, "docs", "PROTOCOL.md"));

        Assert.True(exitCode == 0, output + error);
        Assert.Contains("vectors OK", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_python_task_is_handled_its_reply_verifies_in_python_and_a_tampered_copy_and_an_impostor_are_dead_lettered()
    {
        var topic = TestTopics.New("interop");
        // One signing identity each (PROTOCOL §5a): the worker signs with its own key and verifies the Python agent's.
        var settings = TestBus.Settings("csharp-worker",
            new SigningKeySettings { Id = "worker-key", Secret = TestBus.Secret2, Senders = "csharp-worker" },
            new SigningKeySettings { Id = "py-key", Secret = TestBus.Secret1, Senders = "python-agent", State = "verify-only" });
        await using var worker = await TestBus.CreateAsync(redis, settings);
        var handled = new Recorder();
        await using var subscription = await worker.Bus.SubscribeAsync(topic, async (task, ct) =>
        {
            await handled.Handle(task, ct);
            using var input = JsonDocument.Parse(task.Payload);
            var sum = input.RootElement.GetProperty("a").GetInt32() + input.RootElement.GetProperty("b").GetInt32();
            await worker.Bus.ReplyAsync(task, new { sum, text = input.RootElement.GetProperty("text").GetString() }, cancellationToken: ct);
        });

        var (exitCode, output, error) = await RunPythonAsync(
            "task", "--port", ((RedisServer)redis.Server).Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--key-id", "py-key", "--secret", TestBus.Secret1, "--topic", topic,
            "--reply-key-id", "worker-key", "--reply-secret", TestBus.Secret2, "--timeout", "60");

        Assert.True(exitCode == 0, $"python exited {exitCode}: {output} {error}");
        using var result = JsonDocument.Parse(output.Trim());
        Assert.Equal(0, result.RootElement.GetProperty("problems").GetArrayLength());
        Assert.Equal("worker-key", result.RootElement.GetProperty("replyKeyId").GetString());
        var taskId = result.RootElement.GetProperty("taskId").GetString();
        var tamperedEntry = result.RootElement.GetProperty("tamperedEntryId").GetString()!;
        var impostorEntry = result.RootElement.GetProperty("impostorEntryId").GetString()!;

        await Eventually.TrueAsync(async () => await worker.Bus.DeadLetters.CountAsync(topic) == 2);
        var letters = (await worker.Bus.DeadLetters.ListAsync(topic)).ToDictionary(l => l.OriginalEntryId, l => l.Reason);
        Assert.Equal(RejectionReasons.BadSignature, letters[tamperedEntry]);
        Assert.Equal(RejectionReasons.SenderNotAllowed, letters[impostorEntry]);
        var task = Assert.Single(handled.Messages);
        Assert.Equal(taskId, task.Id);
        Assert.Equal("python-agent", task.From);
        Assert.Equal(MessageType.Task, task.Type);
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", task.Meta["traceparent"]);
    }
}
