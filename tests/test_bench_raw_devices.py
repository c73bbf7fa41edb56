"""The bare MQTT devices of the fan-out benchmark behave as MQTT sessions on a real mosquitto.

Each device connects with its own client id, subscribes, acknowledges what it gets at QoS 1
and sends retained heartbeats; a command's kernel receive time falls between its publish
and the moment the simulator read it.
"""

from __future__ import annotations

import multiprocessing as mp
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.raw_devices import DeviceSpec, RawPublisher, run_devices
from controller.devtools.broker_runner import Broker
from support.harness import wait_for

TOPIC = "loaxa/v1/grp/tinh/cmd"


def _command(run: int) -> bytes:
    return b'{"v":1,"body":{"command":"play_now","reason":"bench-%d"}}' % run


def test_devices_receive_each_command_once_with_a_kernel_time_and_send_retained_heartbeats(tmp_path):
    broker = Broker(tmp_path / "mq").start()
    specs = [DeviceSpec(f"loa-{n}", (f"loaxa/v1/dev/loa-{n}/cmd", TOPIC), f"loaxa/v1/dev/loa-{n}/state")
             for n in range(5)]
    ready, stop, out, got = mp.Event(), mp.Event(), mp.Queue(), mp.Value("i", 0)
    proc = mp.Process(target=run_devices, args=("127.0.0.1", broker.port, specs, ready, stop, out, 0.5, got))
    beats: set[str] = set()
    all_beats = threading.Event()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watcher")

    def on_message(client, userdata, msg):
        beats.add(msg.topic)
        if len(beats) == len(specs):
            all_beats.set()

    watcher.on_connect = lambda client, *a: client.subscribe("loaxa/v1/dev/+/state", 1)
    watcher.on_message = on_message
    try:
        proc.start()
        assert ready.wait(30), "the devices did not all subscribe"
        watcher.connect("127.0.0.1", broker.port)
        watcher.loop_start()
        assert all_beats.wait(30), f"heartbeats from {sorted(beats)} only"

        pub = RawPublisher("127.0.0.1", broker.port, "bench-controller")
        sent = [pub.publish(TOPIC, _command(run)) for run in range(3)]
        pub.close()
        wait_for(lambda: got.value >= 3 * len(specs), timeout=30, what="every device to get every command")
        stop.set()
        port, received = out.get(timeout=30)
        proc.join(timeout=30)
    finally:
        stop.set()
        watcher.loop_stop()
        if proc.is_alive():
            proc.kill()
        broker.stop()

    assert port == broker.port
    assert sorted((r, i) for r, i, _k, _w in received) == [(r, i) for r in range(3) for i in range(len(specs))]
    for run, _i, kernel, read_at in received:
        assert sent[run] <= kernel <= read_at
