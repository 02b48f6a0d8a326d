using System.Text;
using Microsoft.Extensions.Options;

namespace Communication.Bus;

/// <summary>Validates <see cref="CommunicationBusSettings"/> at start-up, with one message per problem.</summary>
public sealed class CommunicationBusSettingsValidator : IValidateOptions<CommunicationBusSettings>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CommunicationBusSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string p = CommunicationBusSettings.SectionName + ":";

        if (options.ServiceName is not null && !BusProtocol.IsValidName(options.ServiceName))
        {
            errors.Add($"{p}ServiceName '{options.ServiceName}' must match ^[A-Za-z0-9._:-]{{1,200}}$.");
        }

        if (options.ConsumerName is not null && !BusProtocol.IsValidName(options.ConsumerName))
        {
            errors.Add($"{p}ConsumerName '{options.ConsumerName}' must match ^[A-Za-z0-9._:-]{{1,200}}$.");
        }

        if (options.MaxPayloadBytes is < 1 or > 64 * 1024 * 1024)
        {
            errors.Add($"{p}MaxPayloadBytes must be between 1 and 67108864 (was {options.MaxPayloadBytes}).");
        }

        if (options.MaxPayloadDepth is < 1 or > 1000)
        {
            errors.Add($"{p}MaxPayloadDepth must be between 1 and 1000 (was {options.MaxPayloadDepth}).");
        }

        if (options.StreamMaxLength < 1 || options.DeadLetterMaxLength < 1)
        {
            errors.Add($"{p}StreamMaxLength and {p}DeadLetterMaxLength must be positive.");
        }

        if (options.TrimInterval < TimeSpan.FromMilliseconds(10) || options.TrimInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{p}TrimInterval must be between 10 ms and 1 hour (was {options.TrimInterval}).");
        }

        if (options.DeadConsumerIdleTime < TimeSpan.FromSeconds(1) ||
            (options.Subscription is not null && options.DeadConsumerIdleTime < options.Subscription.ClaimIdleTime))
        {
            errors.Add($"{p}DeadConsumerIdleTime ({options.DeadConsumerIdleTime}) must be at least 1 second and at least {p}Subscription:ClaimIdleTime ({options.Subscription?.ClaimIdleTime}).");
        }

        if (options.PublishRetries is < 0 or > 20)
        {
            errors.Add($"{p}PublishRetries must be between 0 and 20 (was {options.PublishRetries}).");
        }

        var signing = options.Signing;
        if (signing is null)
        {
            errors.Add($"{p}Signing is required.");
        }
        else
        {
            if (signing.TimestampTolerance <= TimeSpan.Zero)
            {
                errors.Add($"{p}Signing:TimestampTolerance must be positive (was {signing.TimestampTolerance}).");
            }

            if (signing.MaxBacklogAge < signing.TimestampTolerance)
            {
                errors.Add($"{p}Signing:MaxBacklogAge ({signing.MaxBacklogAge}) must be at least {p}Signing:TimestampTolerance ({signing.TimestampTolerance}).");
            }

            if (options.ReplayProtectionTtl < 2 * signing.TimestampTolerance)
            {
                errors.Add($"{p}ReplayProtectionTtl ({options.ReplayProtectionTtl}) must be at least twice {p}Signing:TimestampTolerance ({signing.TimestampTolerance}), or a copy within the tolerance could be replayed.");
            }

            ValidateKeys(signing.Keys, options.ServiceName, errors);
        }

        if (options.ExactlyOnceTtl <= TimeSpan.Zero)
        {
            errors.Add($"{p}ExactlyOnceTtl must be positive.");
        }

        if (options.Subscription is null)
        {
            errors.Add($"{p}Subscription is required.");
        }
        else
        {
            errors.AddRange(options.Subscription.Validate().Select(e => $"{p}Subscription:{e}"));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateKeys(IList<SigningKeySettings> keys, string? serviceName, List<string> errors)
    {
        const string p = CommunicationBusSettings.SectionName + ":Signing:Keys";
        if (keys.Count == 0)
        {
            errors.Add($"{p} is empty: configure at least one active signing key ({p}:0:Id and {p}:0:Secret, a secret of at least {SigningKey.MinimumSecretBytes} bytes).");
            return;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var active = 0;
        var activeForService = 0;
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (key.Id is null || !SigningKey.IsValidId(key.Id))
            {
                errors.Add($"{p}:{i}:Id '{key.Id}' must match ^[A-Za-z0-9._-]{{1,64}}$.");
            }
            else if (!ids.Add(key.Id))
            {
                errors.Add($"{p}:{i}:Id '{key.Id}' appears more than once.");
            }

            var secretBytes = key.Secret is null ? 0 : Encoding.UTF8.GetByteCount(key.Secret);
            if (secretBytes < SigningKey.MinimumSecretBytes)
            {
                errors.Add($"{p}:{i}:Secret (key '{key.Id}') is {secretBytes} bytes; at least {SigningKey.MinimumSecretBytes} bytes are required.");
            }

            var state = SigningKeySettings.ParseState(key.State);
            if (state is null)
            {
                errors.Add($"{p}:{i}:State (key '{key.Id}') is '{key.State}'; use 'active' or 'verify-only'.");
            }
            var senders = SigningKey.ParseSenders(key.Senders);
            foreach (var pattern in senders.Where(pattern => !SigningKey.IsValidSenderPattern(pattern)))
            {
                errors.Add($"{p}:{i}:Senders (key '{key.Id}') has '{pattern}'; use names ^[A-Za-z0-9._:-]{{1,200}}$, such a prefix followed by '*', or '*', separated by commas.");
            }

            if (state == SigningKeyState.Active)
            {
                active++;
                if (serviceName is null || SigningKey.Matches(senders, serviceName))
                {
                    activeForService++;
                }
            }
        }

        if (active > 0 && activeForService == 0)
        {
            errors.Add($"{p} has no active key that may sign for this service's name '{serviceName}' (Bus:ServiceName): add it to the Senders of an active key.");
        }

        if (active == 0)
        {
            errors.Add($"{p} has no active key: at least one key must have State 'active' (the default) to sign messages.");
        }
    }
}
