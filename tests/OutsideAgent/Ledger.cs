using Communication.Bus.Contracts;
using Microsoft.Extensions.Options;

namespace OutsideAgent;

/// <summary>
/// One line per task event in <see cref="OutsideAgentOptions.Ledger"/>, written before the agent goes on (so a line
/// is on disk even when the process is killed right after): what the chaos test counts deliveries and answers with.
/// </summary>
public sealed class Ledger(IOptions<OutsideAgentOptions> options)
{
    private readonly Lock _gate = new();

    public void Write(string what, AgentTask? task = null)
    {
        if (options.Value.Ledger is not { Length: > 0 } path)
        {
            return;
        }

        var line = task is null
            ? $"{what} {Environment.ProcessId}\n"
            : $"{what} {Environment.ProcessId} {task.RunId} {task.StepId} {task.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n";
        lock (_gate)
        {
            File.AppendAllText(path, line);
        }
    }
}
