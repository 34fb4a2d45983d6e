using System.Buffers.Binary;
using System.IO.Pipes;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kr.Host;

/// <summary>
/// The channel to Node: a Unix domain socket (or a Windows named pipe) carrying length-prefixed JSON
/// frames — 4 bytes little-endian length, then that many bytes of UTF-8 JSON. Never stdin/stdout, so
/// whatever user code prints cannot corrupt it. One writer task keeps frames in enqueue order.
/// </summary>
public sealed class FrameChannel : IAsyncDisposable
{
    /// <summary>Refuse frames beyond this size (a corrupt length would otherwise allocate gigabytes).</summary>
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly object _writeGate = new();
    private volatile bool _broken;

    private FrameChannel(Stream stream) => _stream = stream;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Connects to the socket path (POSIX) or pipe name (<c>\\.\pipe\x</c>, Windows) Node listens on.</summary>
    public static async Task<FrameChannel> ConnectAsync(string address, CancellationToken ct)
    {
        if (OperatingSystem.IsWindows())
        {
            var name = address.StartsWith(@"\\.\pipe\", StringComparison.OrdinalIgnoreCase) ? address[9..] : address;
            var pipe = new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.Asynchronous);
            await pipe.ConnectAsync(ct).ConfigureAwait(false);
            return new FrameChannel(pipe);
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(address), ct).ConfigureAwait(false);
        return new FrameChannel(new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>Sends one message. Frames never interleave; a slow reader applies backpressure to the sender.</summary>
    public void Send(JsonNode message) => Send(JsonSerializer.SerializeToUtf8Bytes(message, Json));

    public void Send(byte[] json)
    {
        if (_broken) return;
        var frame = new byte[json.Length + 4];
        BinaryPrimitives.WriteInt32LittleEndian(frame, json.Length);
        json.CopyTo(frame, 4);
        // Written on the caller's thread: no hop through a writer task, so an answer leaves as soon as it exists.
        lock (_writeGate)
        {
            try
            {
                _stream.Write(frame);
            }
            catch (Exception)
            {
                // The other end is gone; the read loop notices and the host exits.
                _broken = true;
            }
        }
    }

    /// <summary>Reads the next message, or null when the channel closed.</summary>
    public async Task<JsonObject?> ReadAsync(CancellationToken ct)
    {
        var header = new byte[4];
        if (!await ReadExactAsync(header, ct).ConfigureAwait(false)) return null;
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < 0 || length > MaxFrameBytes) throw new InvalidDataException($"Frame length {length} is out of range.");
        var body = new byte[length];
        if (!await ReadExactAsync(body, ct).ConfigureAwait(false)) return null;
        return JsonNode.Parse(body) as JsonObject ?? throw new InvalidDataException("A frame is not a JSON object.");
    }

    private async Task<bool> ReadExactAsync(byte[] buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _broken = true;
        return _stream.DisposeAsync();
    }
}
