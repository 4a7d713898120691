"""Builds the optional compiled loops (glassnet/_fastops.c); everything else is in
pyproject.toml. Without a C compiler the build is skipped and glassnet runs its pure
NumPy path, which gives the same numbers (docs/architecture.md, D16)."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# no fused multiply-adds (bitwise equal to NumPy); sqrt without errno so it vectorizes
UNIX_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c99", "-pthread"]


class BuildOptionalExtensions(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                extension.extra_compile_args = [*UNIX_FLAGS]
                extension.extra_link_args = ["-pthread"]
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "glassnet._fastops",
            ["glassnet/_fastops.c", "glassnet/_pool.c", "glassnet/_products.c"],
            depends=[
                "glassnet/_exact_division.h",
                "glassnet/_loops.h",
                "glassnet/_pool.h",
                "glassnet/_products.h",
            ],
            optional=True,
        )
    ],
    cmdclass={"build_ext": BuildOptionalExtensions},
)
