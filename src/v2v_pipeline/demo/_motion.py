"""Motion styles and forward kinematics of the demo dancer (3-D, metres).

World frame: X to the right, Y up (floor at Y = 0), Z away from the camera; the camera sits
at X = 0, Z = 0. A body yaw of 0 faces the camera. Everything is evaluated for all frame
times at once (vectorised over the first axis) from the seeded parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MOTIONS = ("dance", "walk")

UP = np.array([0.0, 1.0, 0.0])
ANKLE_HEIGHT = 0.08  # metres above the floor


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1, keepdims=True)


def heading(yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit (forward, left) vectors of a body turned by ``yaw`` radians (0 faces the camera)."""
    s, c, z = np.sin(yaw), np.cos(yaw), np.zeros_like(yaw)
    return np.stack([s, z, -c], -1), np.stack([c, z, s], -1)


class SmoothNoise:
    """Deterministic smooth noise in about [-1, 1]: a few sinusoids with seeded frequencies."""

    def __init__(self, rng: np.random.Generator, f_lo: float, f_hi: float, n: int = 3):
        self.f = rng.uniform(f_lo, f_hi, n)
        self.phase = rng.uniform(0.0, 2 * np.pi, n)
        amp = rng.uniform(0.5, 1.0, n)
        self.amp = amp / amp.sum()

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return (self.amp * np.sin(2 * np.pi * self.f * t[..., None] + self.phase)).sum(-1)


@dataclass(frozen=True)
class Staging:
    """Where the camera sees the person (metres, image-height units for the focal length).

    The person's path is centred on ``distance`` metres in front of the camera and
    ``lateral`` metres to the right of the optical axis. ``travel`` is how far the
    person moves in depth: a dancer drifts between ``distance +- travel / 2``, a walker
    approaches from ``distance + travel / 2`` to ``distance - travel / 2``. ``width`` is
    the lateral range of the motion (side steps, or the walker's zig-zag amplitude).
    The camera looks horizontally from ``camera_height`` metres, so the ankle's image
    row is ``cy + f * (camera_height - ankle height) / depth``.
    """

    distance: float = 3.5
    travel: float = 0.8
    lateral: float = 0.0
    width: float = 0.35
    camera_height: float = 1.0
    focal: float = 1.5
    wall_distance: float = 9.0

    def __post_init__(self) -> None:
        if self.distance - self.travel / 2 < 1.5:
            raise ValueError(
                f"Staging: distance - travel/2 = {self.distance - self.travel / 2:.2f} m "
                "puts the person closer than 1.5 m to the camera; increase distance."
            )
        if self.wall_distance <= self.distance + self.travel / 2 + 0.5:
            raise ValueError("Staging: wall_distance must be behind the person's path.")
        if self.focal <= 0 or self.camera_height <= 0:
            raise ValueError("Staging: focal and camera_height must be positive.")


@dataclass(frozen=True)
class Pose:
    """Per-frame motion controls (arrays with leading frame axis N)."""

    pelvis: np.ndarray  # (N, 3) desired pelvis position (height is limited by leg reach)
    yaw: np.ndarray  # (N,) pelvis yaw
    twist: np.ndarray  # (N,) chest yaw relative to the pelvis
    lean: np.ndarray  # (N, 2) forward / sideways (to the left) lean of the spine, radians
    head: np.ndarray  # (N, 3) head yaw / pitch (down) / roll relative to the chest
    arms: np.ndarray  # (N, 2, 4) [right, left] x (abduction, flexion, elbow, forearm roll)
    ankles: np.ndarray  # (N, 2, 3) [right, left] ankle targets (world)
    foot_yaw: np.ndarray  # (N, 2) foot heading


# --------------------------------------------------------------------------- dance
# Arm "moves": mean and amplitude (degrees) of (abduction, flexion, elbow, forearm roll),
# oscillating once every two beats; the left arm runs the same move shifted by a phase.
_DANCE_MOVES: dict[str, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    #         mean (abd, flex, elbow, roll)   amplitude              left-arm phase (cycles)
    "wave": ((105.0, 10.0, 40.0, 60.0), (25.0, 10.0, 35.0, 0.0), 0.5),
    "pump": ((150.0, 15.0, 55.0, 90.0), (25.0, 5.0, 50.0, 0.0), 0.5),
    "swing": ((20.0, 10.0, 75.0, 20.0), (10.0, 45.0, 20.0, 10.0), 0.5),
    "cross": ((35.0, 60.0, 95.0, 80.0), (15.0, 15.0, 25.0, 10.0), 0.0),
    "point": ((120.0, 25.0, 15.0, 30.0), (35.0, 15.0, 15.0, 0.0), 0.25),
    "groove": ((30.0, 20.0, 85.0, 40.0), (12.0, 20.0, 25.0, 20.0), 0.25),
}
_FOOT_PATTERNS = ("step_right", "step_left", "bounce", "forward")


def _dance(t: np.ndarray, rng: np.random.Generator, st: Staging) -> Pose:
    beat = 60.0 / rng.uniform(96.0, 124.0)
    n_cycles = int(t[-1] / (4 * beat)) + 3 if len(t) else 1  # one 4-beat cycle = a figure
    b = t / beat  # time in beats
    cyc = np.floor(b / 4).astype(int)
    p = b - 4 * cyc  # beat within the cycle, [0, 4)

    # Feet: per cycle a stepping figure ("bounce" keeps both feet planted) and a step
    # length; every figure starts and ends at the rest stance, so cycles chain smoothly.
    patterns = rng.integers(0, len(_FOOT_PATTERNS), n_cycles)
    step_len = rng.uniform(0.5, 1.0, n_cycles) * st.width
    pat, s = patterns[cyc], step_len[cyc]
    half_stance = 0.13
    lat = np.zeros((len(t), 2))  # lateral offsets of [right, left] foot (to the left +)
    fwd = np.zeros((len(t), 2))
    lift = np.zeros((len(t), 2))

    def hump(a: float, x: np.ndarray) -> np.ndarray:  # 0 -> 1 -> 0 over beats [a, a+1]
        return np.where((x >= a) & (x < a + 1), np.sin(np.pi * np.clip(x - a, 0, 1)), 0.0)

    out_lead = smoothstep(p) * (p < 1) + (p >= 1) * (p < 3) + (1 - smoothstep(p - 3)) * (p >= 3)
    close = smoothstep(p - 1) * (p >= 1) * (p < 2) + (1 - smoothstep(p - 2)) * (p >= 2) * (p < 3)
    for k, sign in ((0, -1.0), (1, 1.0)):  # the pattern "step_right" moves right first
        side = _FOOT_PATTERNS.index("step_right" if k == 0 else "step_left")
        lead = pat == side
        foot, other = k, 1 - k
        lat[:, foot] += np.where(lead, sign * s * out_lead, 0.0)
        lat[:, other] += np.where(lead, sign * s * close, 0.0)
        lift[:, foot] += np.where(lead, hump(0, p) + hump(3, p), 0.0)
        lift[:, other] += np.where(lead, hump(1, p) + hump(2, p), 0.0)
    fw = pat == _FOOT_PATTERNS.index("forward")
    fwd_foot = rng.integers(0, 2, n_cycles)[cyc]
    for k in (0, 1):
        m = fw & (fwd_foot == k)
        fwd[:, k] += np.where(m, 0.7 * s * out_lead, 0.0)
        lift[:, k] += np.where(m, hump(0, p) + hump(3, p), 0.0)
    lat += np.array([-half_stance, half_stance])
    lift *= 0.07

    # The dance spot drifts towards / away from the camera and sideways, and the body turns
    # partly; a foot follows the spot and the turn only while it is lifted (its own clock
    # tau runs fast in the air and slowly on the floor), so planted feet barely slide.
    n_sway, n_drift, n_turn, n_lat = (SmoothNoise(rng, a, b_) for a, b_ in
                                      ((0.05, 0.15), (0.02, 0.06), (0.03, 0.1), (0.02, 0.05)))
    period, phase0 = rng.uniform(14.0, 22.0), rng.uniform(0, 2 * np.pi)

    def spot_at(tt: np.ndarray) -> np.ndarray:
        drift = np.clip(0.75 * np.sin(2 * np.pi * tt / period + phase0) + 0.35 * n_drift(tt), -1, 1)
        return np.stack([st.lateral + 0.25 * st.width * n_lat(tt), np.zeros_like(tt),
                         st.distance + 0.5 * st.travel * drift], -1)

    def yaw_at(tt: np.ndarray) -> np.ndarray:
        return np.deg2rad(38.0) * n_turn(tt)

    sway = (0.03 + 0.015 * n_sway(t)) * np.sin(np.pi * b)
    bounce = (0.035 + 0.02 * n_sway(t + 17.0)) * (0.5 - 0.5 * np.cos(2 * np.pi * b))
    yaw = yaw_at(t)
    ankles = np.zeros((len(t), 2, 3))
    foot_yaw = np.zeros((len(t), 2))
    for k in (0, 1):
        rate = 0.15 + (lift[:, k] > 0.002)
        tau = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t))])
        tau *= t[-1] / max(tau[-1], 1e-9) if len(t) > 1 else 0.0
        fwd_k, left_k = heading(yaw_at(tau))
        ankles[:, k] = spot_at(tau) + lat[:, k, None] * left_k + fwd[:, k, None] * fwd_k
        ankles[:, k, 1] = ANKLE_HEIGHT + lift[:, k]
        foot_yaw[:, k] = yaw_at(tau) + np.deg2rad(8.0 if k else -8.0)
    pelvis = ankles.mean(1) + sway[:, None] * heading(yaw)[1]
    pelvis[:, 1] = -bounce  # relative drop; the skeleton adds the standing height

    # Arms: a move per cycle, crossfaded over the first beat and a half of the cycle.
    names = list(_DANCE_MOVES)
    moves = rng.integers(0, len(names), n_cycles)
    jitter = rng.uniform(0.8, 1.2, (n_cycles, 2, 4))
    per_move = np.zeros((len(names), len(t), 2, 4))
    for i, name in enumerate(names):
        mean, amp, lphase = (np.asarray(v) for v in _DANCE_MOVES[name])
        per_move[i, :, 0] = mean + amp * np.sin(np.pi * b)[:, None]
        per_move[i, :, 1] = mean + amp * np.sin(np.pi * b + 2 * np.pi * lphase)[:, None]
    idx = np.arange(len(t))
    cur = per_move[moves[cyc], idx] * jitter[cyc]
    prev_c = np.maximum(cyc - 1, 0)
    prev = per_move[moves[prev_c], idx] * jitter[prev_c]
    arms = prev + (cur - prev) * smoothstep(p / 1.5)[:, None, None]
    arms = np.deg2rad(arms)

    lean = np.stack([np.deg2rad(4.0) + 0.03 * n_sway(t + 3.0), -2.0 * sway], -1)
    twist = np.deg2rad(10.0) * np.sin(np.pi * b / 2) * (0.6 + 0.4 * n_turn(t + 7.0))
    head = np.stack(
        [
            np.deg2rad(12.0) * n_turn(t + 31.0),
            np.deg2rad(6.0) * (0.5 - 0.5 * np.cos(2 * np.pi * b)),
            np.deg2rad(5.0) * np.sin(np.pi * b),
        ],
        -1,
    )
    return Pose(pelvis, yaw, twist, lean, head, arms, ankles, foot_yaw)


# --------------------------------------------------------------------------- walk
def _walk(t: np.ndarray, rng: np.random.Generator, st: Staging) -> Pose:
    duration = max(float(t[-1]) if len(t) else 1.0, 1.0)
    # Path: a zig-zag across the stage while approaching the camera.
    n_zig = SmoothNoise(rng, 0.02, 0.05)
    zig_period = rng.uniform(5.0, 7.0)
    zig_phase = rng.uniform(0, 2 * np.pi)
    fine = np.linspace(-2.0, duration + 1.0, int(60 * (duration + 3.0)) + 2)

    def path(tt: np.ndarray) -> np.ndarray:
        x = st.lateral + st.width * np.sin(2 * np.pi * tt / zig_period + zig_phase) + 0.1 * n_zig(tt)
        z = st.distance + st.travel * (0.5 - tt / duration)
        return np.stack([x, np.zeros_like(tt), z], -1)

    pts = path(fine)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=-1))])
    vel = np.gradient(pts, fine, axis=0)

    def yaw_at(s_: np.ndarray) -> np.ndarray:  # face the walking direction, turning
        vx, vz = np.interp(s_, arc, vel[:, 0]), np.interp(s_, arc, vel[:, 2])
        return np.arctan2(vx, 0.35 - vz)  # through the camera-facing side

    def point_at(s_: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(s_, arc, pts[:, i]) for i in range(3)], -1)

    s = np.interp(t, fine, arc)
    yaw = yaw_at(s)
    stride = rng.uniform(1.15, 1.35)  # metres per gait cycle (two steps)
    phase = s / stride
    ankles = np.zeros((len(t), 2, 3))
    foot_yaw = np.zeros((len(t), 2))
    for k, (off, side) in enumerate(((0.0, -1.0), (0.5, 1.0))):  # right, left
        ph = phase + off
        n, u = np.floor(ph), ph - np.floor(ph)
        # stance for u < 0.6 (foot planted), swing after; the foot lands 0.3 strides
        # ahead of the pelvis and leaves 0.3 strides behind it
        swing = smoothstep((u - 0.6) / 0.4)
        s_foot = stride * (n + 0.3 + swing - off)
        foot_yaw[:, k] = yaw_at(s_foot) + np.deg2rad(6.0) * side
        ankles[:, k] = point_at(s_foot) + side * 0.1 * heading(yaw_at(s_foot))[1]
        ankles[:, k, 1] = ANKLE_HEIGHT + 0.09 * np.sin(np.pi * np.clip((u - 0.6) / 0.4, 0, 1))
    # The pelvis moves steadily along the path and bobs twice per stride.
    pelvis = point_at(s)
    pelvis[:, 1] = -0.025 * (0.5 + 0.5 * np.cos(4 * np.pi * phase))
    n_arm = SmoothNoise(rng, 0.05, 0.2)
    swing_amp = np.deg2rad(rng.uniform(22.0, 32.0)) * (1 + 0.25 * n_arm(t))
    c = np.cos(2 * np.pi * phase)  # +1 when the right foot is forward
    arms = np.zeros((len(t), 2, 4))
    arms[:, 0, 0] = arms[:, 1, 0] = np.deg2rad(8.0)
    arms[:, 0, 1] = -swing_amp * c + np.deg2rad(3.0)
    arms[:, 1, 1] = swing_amp * c + np.deg2rad(3.0)
    arms[:, 0, 2] = np.deg2rad(20.0) + np.maximum(arms[:, 0, 1], 0) * 0.8
    arms[:, 1, 2] = np.deg2rad(20.0) + np.maximum(arms[:, 1, 1], 0) * 0.8
    arms[:, :, 3] = np.deg2rad(10.0)
    lean = np.stack([np.full_like(t, np.deg2rad(3.0)), 0.02 * np.sin(2 * np.pi * phase)], -1)
    twist = np.deg2rad(6.0) * c
    head = np.stack(
        [-0.45 * yaw * (0.5 + 0.5 * n_arm(t + 11.0)), np.deg2rad(4.0) + 0.03 * n_arm(t + 5.0),
         np.zeros_like(t)], -1)
    return Pose(pelvis, yaw, twist, lean, head, arms, ankles, foot_yaw)


def motion(style: str, t: np.ndarray, rng: np.random.Generator, staging: Staging) -> Pose:
    """Motion controls of ``style`` at times ``t`` (seconds)."""
    if style == "dance":
        return _dance(t, rng, staging)
    if style == "walk":
        return _walk(t, rng, staging)
    raise ValueError(f"Unknown motion style {style!r}; choose one of {MOTIONS}.")


# --------------------------------------------------------------------------- skeleton
_RATIOS = {  # segment lengths as fractions of the body height (anthropometric tables)
    "thigh": 0.245, "shin": 0.245, "upper_arm": 0.172, "forearm": 0.150, "hand": 0.095,
    "spine": 0.288, "shoulder_half": 0.088, "hip_half": 0.055, "neck": 0.055,
    "head_rx": 0.044, "head_ry": 0.062, "head_rz": 0.054, "foot_fwd": 0.085, "heel": 0.03,
}


class Body:
    """Segment lengths in metres (attributes named as in ``_RATIOS``) for a body height."""

    thigh: float
    shin: float
    upper_arm: float
    forearm: float
    hand: float
    spine: float
    shoulder_half: float
    hip_half: float
    neck: float
    head_rx: float
    head_ry: float
    head_rz: float
    foot_fwd: float
    heel: float

    def __init__(self, height: float = 1.75):
        self.height = height
        for name, ratio in _RATIOS.items():
            setattr(self, name, ratio * height)


def skeleton(pose: Pose, body: Body) -> dict[str, np.ndarray]:
    """3-D points of the figure (each (N, 3) unless noted) from the motion controls."""
    n = len(pose.yaw)
    f_p, l_p = heading(pose.yaw)
    leg = body.thigh + body.shin
    hips = pose.pelvis[:, None] + np.array([-1.0, 1.0])[None, :, None] * body.hip_half * l_p[:, None]
    # Pelvis height: standing height minus the bounce, limited so both ankles are reachable.
    horiz = np.linalg.norm((hips - pose.ankles)[..., [0, 2]], axis=-1)
    reach = np.sqrt(np.maximum((0.995 * leg) ** 2 - horiz**2, 0.0)) + pose.ankles[..., 1]
    y = np.minimum(ANKLE_HEIGHT + 0.985 * leg + pose.pelvis[:, 1], reach.min(1))
    pelvis = pose.pelvis.copy()
    pelvis[:, 1] = y
    hips[..., 1] = y[:, None]

    # Legs: two-bone IK with the knee pointing forward (and a little outward).
    knees, ankles = np.zeros((n, 2, 3)), np.zeros((n, 2, 3))
    for k, side in ((0, -1.0), (1, 1.0)):
        d_vec = pose.ankles[:, k] - hips[:, k]
        d = np.clip(np.linalg.norm(d_vec, axis=-1), 0.3 * leg, 0.9999 * leg)
        e = _unit(d_vec)
        pole = _unit(f_p + 0.15 * side * l_p)
        perp = _unit(pole - _dot(pole, e) * e)
        cos_a = np.clip((body.thigh**2 + d**2 - body.shin**2) / (2 * body.thigh * d), -1, 1)
        sin_a = np.sqrt(1 - cos_a**2)
        knees[:, k] = hips[:, k] + body.thigh * (cos_a[:, None] * e + sin_a[:, None] * perp)
        ankles[:, k] = hips[:, k] + d[:, None] * e

    # Spine and chest frame.
    f_c, l_c = heading(pose.yaw + pose.twist)
    up_c = _unit(UP + np.tan(pose.lean[:, :1]) * f_c + np.tan(pose.lean[:, 1:]) * l_c)
    l_c = _unit(l_c - _dot(l_c, up_c) * up_c)
    f_c = np.cross(up_c, l_c)  # up x left = forward (-Z when facing the camera)
    neck = pelvis + body.spine * up_c

    # Arms.
    shoulders, elbows, wrists, hand_tips = (np.zeros((n, 2, 3)) for _ in range(4))
    for k, side in ((0, -1.0), (1, 1.0)):
        abd, flex, elb, roll = (pose.arms[:, k, i : i + 1] for i in range(4))
        shrug = 0.02 * body.height * smoothstep((np.rad2deg(abd) - 80) / 80)
        sh = neck + side * body.shoulder_half * l_c + (shrug - 0.012 * body.height) * up_c
        d_up = _unit(np.sin(abd) * np.cos(flex) * side * l_c - np.cos(abd) * np.cos(flex) * up_c
                     + np.sin(flex) * f_c)
        bend = np.cos(roll) * f_c + np.sin(roll) * up_c - 0.3 * side * l_c
        bend = _unit(bend - _dot(bend, d_up) * d_up)
        d_fore = np.cos(elb) * d_up + np.sin(elb) * bend
        el = sh + body.upper_arm * d_up
        wr = el + body.forearm * d_fore
        shoulders[:, k], elbows[:, k], wrists[:, k] = sh, el, wr
        hand_tips[:, k] = wr + body.hand * _unit(d_fore + 0.25 * bend)

    # Head frame: yaw, pitch (nod down), roll relative to the chest.
    f_h, l_h = heading(pose.yaw + pose.twist + pose.head[:, 0])
    pitch, roll = pose.head[:, 1:2], pose.head[:, 2:3]
    up_h = np.cos(pitch) * UP + np.sin(pitch) * f_h
    f_h = np.cos(pitch) * f_h - np.sin(pitch) * UP
    up_h, l_h = np.cos(roll) * up_h + np.sin(roll) * l_h, np.cos(roll) * l_h - np.sin(roll) * up_h
    neck_top = neck + body.neck * up_c
    head = neck_top + 0.056 * body.height * up_h + 0.01 * body.height * f_h

    def on_head(a: float, b: float, c_sign: float = 1.0, out: float = 0.0) -> np.ndarray:
        """Point on the head ellipsoid at normalised left/up coordinates (a, b)."""
        c = c_sign * np.sqrt(max(1 - a * a - b * b, 0.0))
        return head + (body.head_rx * a) * l_h + (body.head_ry * b) * up_h + \
            (body.head_rz * c + out) * f_h

    # Feet.
    f_f = np.stack([heading(pose.foot_yaw[:, k])[0] for k in (0, 1)], 1)
    l_f = np.stack([heading(pose.foot_yaw[:, k])[1] for k in (0, 1)], 1)
    down = -ANKLE_HEIGHT * UP
    medial = np.array([1.0, -1.0])[None, :, None] * l_f  # towards the other foot
    heel = ankles - body.heel * f_f + 0.75 * down
    big_toe = ankles + 2.0 * body.foot_fwd * f_f + 0.7 * down + 0.025 * medial
    small_toe = ankles + 1.6 * body.foot_fwd * f_f + 0.7 * down - 0.035 * medial

    return {
        "pelvis": pelvis, "hips": hips, "knees": knees, "ankles": ankles,
        "neck": neck, "neck_top": neck_top, "shoulders": shoulders, "elbows": elbows,
        "wrists": wrists, "hand_tips": hand_tips, "head": head,
        "head_axes": np.stack([l_h, up_h, f_h], 1),  # (N, 3, 3) rows: left, up, forward
        "chest_axes": np.stack([l_c, up_c, f_c], 1),
        "nose": on_head(0.0, -0.22, out=0.012 * body.height / 1.75),
        "eyes": np.stack([on_head(-0.38, 0.06), on_head(0.38, 0.06)], 1),  # right, left
        "ears": np.stack([on_head(-0.97, -0.05, -1.0), on_head(0.97, -0.05, -1.0)], 1),
        "heels": heel, "big_toes": big_toe, "small_toes": small_toe,
        "foot_axes": np.stack([l_f, f_f], 2),  # (N, 2, 2, 3)
    }
