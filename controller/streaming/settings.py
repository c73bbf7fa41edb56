"""Settings of live audio: the Icecast server the controller runs and the relays it restreams."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import setting


@dataclass(frozen=True)
class StreamingSettings:
    enabled: bool = setting(False, "run Icecast (icecast2) from the generated files and restream relay sources; the demo and installed controllers turn it on")
    config_dir: str = setting("", "where the generated icecast.xml, listener file, TLS bundle and logs go (default: <data_dir>/icecast)")
    bind_address: str = setting("127.0.0.1", "address the Icecast listeners bind to")
    port: int = setting(8000, "plain Icecast port; the controller's own encoders push here (keep it on loopback when TLS is on)")
    tls_port: int = setting(0, "TLS port devices listen on, certified by the controller's CA (0: devices use the plain port)")
    device_host: str = setting("", "host name devices reach Icecast by (default: the host of http.public_url)")
    bitrate_kbps: int = setting(24, "Opus bitrate of every restreamed mount (24-32 keeps a 4G cluster under 240 kB a minute)")
    failover_s: float = setting(3.0, "a source silent on the wire this long is replaced by its fallback")
    silence_dbfs: float = setting(-55.0, "a source whose level stays below this is flagged silent")
    silence_flag_s: float = setting(60.0, "seconds of silence before a source is flagged")
    playout_delay_s: float = setting(1.2, "every agent plays a stream sample this long after the controller stamped it (the common timeline); it must exceed encoding, paging (200 ms), the network and decoding")
    probe_s: float = setting(10.0, "seconds a source test listens for")
    max_listeners: int = setting(5000, "Icecast client limit")
