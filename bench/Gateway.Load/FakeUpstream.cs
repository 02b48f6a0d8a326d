using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bench;

/// <summary>
/// A fake model upstream: a minimal Kestrel app answering <c>POST /v1beta/models/{model}:generateContent</c>
/// (Gemini) with a canned GenerateContentResponse and <c>POST …/chat/completions</c> (OpenAI-compatible) with a
/// canned chat completion, at once. It runs in a child process of this benchmark (the same
/// executable with the <c>fake-upstream</c> argument), so its thread pool and GC are not the load generator's.
/// </summary>
internal static class FakeUpstream
{
    public const string ChildArgument = "fake-upstream";
    private const string ReadyPrefix = "FAKE_UPSTREAM_LISTENING ";

    /// <summary>The canned answer (about what a short Gemini answer looks like).</summary>
    public static readonly byte[] Response = Encoding.UTF8.GetBytes(
        """{"candidates":[{"content":{"role":"model","parts":[{"text":"OK. This is the canned answer of the benchmark's fake Gemini upstream."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":16,"totalTokenCount":28},"modelVersion":"gemini-3.5-flash","responseId":"bench-fake-upstream"}""");

    /// <summary>The text of the canned chat completion (the peer comparison checks that an answer came from here).</summary>
    public const string ChatAnswerText = "OK. This is the canned answer of the benchmark's fake OpenAI-compatible upstream.";

    /// <summary>The canned chat completion (about what a short OpenAI answer looks like).</summary>
    public static readonly byte[] ChatResponse = Encoding.UTF8.GetBytes(
        $$$"""{"id":"chatcmpl-bench","object":"chat.completion","created":1764979200,"model":"gpt-bench","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"{{{ChatAnswerText}}}","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":16,"total_tokens":28}}""");

    /// <summary>The child's main: serve until the parent is gone or stdin closes.</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        var parent = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 0;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var requests = 0L;
        app.Run(async context =>
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method) && request.Path == "/requests")
            {
                // How many calls it answered: the cache benchmark checks how many hits reached the upstream.
                await context.Response.WriteAsync(Interlocked.Read(ref requests).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }

            var path = request.Path.Value ?? "";
            var answer = !HttpMethods.IsPost(request.Method) ? null
                : path.EndsWith(":generateContent", StringComparison.Ordinal) ? Response
                : path.EndsWith("/chat/completions", StringComparison.Ordinal) ? ChatResponse
                : null;
            if (answer is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            // Read the body like a real server would (and so the client's write completes).
            var buffer = new byte[4096];
            while (await request.Body.ReadAsync(buffer) > 0)
            {
            }

            Interlocked.Increment(ref requests);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json; charset=UTF-8";
            context.Response.ContentLength = answer.Length;
            await context.Response.Body.WriteAsync(answer);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine(ReadyPrefix + address);

        // Stop when the parent goes away, however it ends (even SIGKILL).
        while (parent == 0 || IsAlive(parent))
        {
            await Task.Delay(500);
        }

        await app.StopAsync();
        return 0;
    }

    /// <summary>Starts the child and returns its process and base address.</summary>
    public static async Task<(Process Process, Uri BaseAddress)> StartAsync()
    {
        var info = OwnCommand();
        info.ArgumentList.Add(ChildArgument);
        info.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the fake upstream.");
        Children.Track(process);
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
            {
                ready.TrySetResult(new Uri(line[ReadyPrefix.Length..].TrimEnd('/') + "/"));
            }
            else if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return (process, await ready.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        catch (TimeoutException)
        {
            Children.Kill(process);
            throw new InvalidOperationException($"The fake upstream did not start. Its output:\n{output}");
        }
    }

    // This executable again: the apphost, or 'dotnet <this>.dll'.
    private static ProcessStartInfo OwnCommand()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var name = Path.GetFileNameWithoutExtension(processPath);
        if (name.Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            var info = new ProcessStartInfo(processPath);
            info.ArgumentList.Add(typeof(FakeUpstream).Assembly.Location);
            return info;
        }

        return new ProcessStartInfo(processPath);
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
