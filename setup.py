"""Builds the optional compiled loops (glassnet/_fastops.c); everything else is in
pyproject.toml. Without a C compiler the build is skipped with a warning and glassnet
runs its pure NumPy path, which gives the same numbers, slower (docs/architecture.md,
D16); ``gn.show_config()`` says which path runs and why, and the first ``fit`` warns."""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# no fused multiply-adds (bitwise equal to NumPy); sqrt without errno so it vectorizes
UNIX_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c99", "-pthread"]

WARNING = """
************************************************************************************
WARNING: glassnet's optional compiled loops ({name}) were not built:
    {error}
glassnet is installed and works, but runs its pure NumPy code, which gives the same
numbers and is slower (training about 1.5-3x). To build the loops, install a C
compiler (gcc or clang; on Debian/Ubuntu `apt install build-essential`) and reinstall
glassnet. `python -c "import glassnet; glassnet.show_config()"` shows what runs.
************************************************************************************
"""


class BuildOptionalExtensions(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                extension.extra_compile_args = [*UNIX_FLAGS]
                extension.extra_link_args = ["-pthread"]
                if sys.platform.startswith("linux"):  # dlopen (before glibc 2.34)
                    extension.libraries = [*extension.libraries, "dl"]
        super().build_extensions()

    def build_extension(self, extension):
        try:
            super().build_extension(extension)
        except Exception as error:  # setuptools skips an optional one; say so
            if extension.optional:
                message = WARNING.format(name=extension.name, error=error)
                sys.stderr.write(message)
                self.warn(message)
            raise


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
