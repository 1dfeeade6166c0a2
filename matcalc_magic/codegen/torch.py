"""PyTorch: torch operations only, so the function runs on whatever device
its tensors live on and under ``torch.compile``; new arrays take the dtype
and device of the first argument."""

from __future__ import annotations

from .printer import ATOM, CodePrinter


class TorchPrinter(CodePrinter):
    backend = "torch"
    xp = "torch"
    linalg = "torch.linalg"
    imports = ("import torch",)

    def __init__(self, names: dict):
        super().__init__(names)
        self.uses_like = False

    def convert(self, name: str) -> str:  # keeps the dtype and the device
        return f"torch.as_tensor({name})"

    def like(self) -> str:
        self.uses_like = True
        return "**like"

    def full(self, shape, value: str) -> str:
        return f"torch.full({self.dims(shape)}, {value}, {self.like()})"

    def new_array(self, fn: str, shape) -> str:
        if fn == "eye":
            return f"torch.eye({self.size(shape[0])}, {self.like()})"
        return f"torch.{fn}({self.dims(shape)}, {self.like()})"

    def before_body(self, first_param: str | None) -> list[str]:
        if not self.uses_like or first_param is None:
            return []
        return [f"like = dict(dtype={first_param}.dtype, device={first_param}.device)"]

    def total(self, x: str, axis) -> str:
        if axis is None:
            return f"{x}.sum().reshape(1, 1)"
        return f"{x}.sum({axis}, keepdim=True)"

    def permute(self, x: str, axes) -> str:
        return f"{x}.permute({', '.join(map(str, axes))})"

    def pad(self, x: str, axis: int, before: str, after: str) -> str:
        widths = f"(0, 0, {before}, {after})" if axis == 0 else f"({before}, {after})"
        return f"torch.nn.functional.pad({x}, {widths})"

    def concat(self, items: list[str], axis: int) -> str:
        return f"torch.cat([{', '.join(items)}], dim={axis})"

    def broadcast_to(self, x: str, shape) -> str:
        return f"{x}.expand{self.dims(shape)}"

    def _kron(self, e):  # torch.kron fails on some transposed (strided) inputs
        a, b = (self.expr(x, ATOM) + ".contiguous()" for x in e.args)
        return f"torch.kron({a}, {b})", ATOM

    def logdet(self, x: str) -> str:  # nan where det ≤ 0, as log det is
        return f"torch.logdet({x}).reshape(1, 1)"

    def sigmoid(self, x: str) -> str:
        return f"torch.sigmoid({x})"

    def relu(self, x: str) -> str:
        return f"torch.relu({x})"

    def step(self, x: str) -> str:
        return f"({x} > 0).to({x}.dtype)"

    def softplus(self, x: str) -> str:
        return f"torch.nn.functional.softplus({x})"

    def softmax_family(self, fn: str, x: str, axis, shape) -> str:
        if axis is None:  # over every entry
            if fn == "logsumexp":
                return f"torch.logsumexp({x}.reshape(-1), 0).reshape(1, 1)"
            return f"torch.{fn}({x}.reshape(-1), 0).reshape{self.dims(shape)}"
        if fn == "logsumexp":
            return f"torch.logsumexp({x}, {axis}, keepdim=True)"
        return f"torch.{fn}({x}, {axis})"

    def to_numpy(self) -> str:
        return ("def _numpy(a):\n"
                "    if isinstance(a, torch.Tensor):\n"
                "        a = a.detach().cpu()\n"
                "    return np.asarray(a, dtype=float)")
