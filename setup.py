"""Declares the Cython extension; everything else lives in pyproject.toml."""
from Cython.Build import cythonize
from setuptools import Extension, setup

kernels = Extension(
    "cnnkit.reference._kernels",
    ["reference/_kernels.pyx"],
    extra_compile_args=["-O3"],
)

setup(ext_modules=cythonize([kernels], language_level=3))
