"""Security: the signing key and its rotation, the broker configuration and certificates,
the kill switch, the device-side security use cases and the operator's session at the controller machine.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.security.device_security import BrokerGrant, DeviceSecurity, EnrollmentBundle, mqtt_settings
    from controller.security.keyring import Keyring
    from controller.security.kill_switch import KillSwitch, KillSwitchEngaged, KillSwitches, KillSwitchLifted
    from controller.security.operator_session import OperatorError, operator_session
    from controller.security.settings import BrokerSettings, SecuritySettings

_EXPORTS = {
    "BrokerGrant": "device_security",
    "BrokerSettings": "settings",
    "DeviceSecurity": "device_security",
    "EnrollmentBundle": "device_security",
    "Keyring": "keyring",
    "KillSwitch": "kill_switch",
    "KillSwitchEngaged": "kill_switch",
    "KillSwitchLifted": "kill_switch",
    "KillSwitches": "kill_switch",
    "OperatorError": "operator_session",
    "SecuritySettings": "settings",
    "mqtt_settings": "device_security",
    "operator_session": "operator_session",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
