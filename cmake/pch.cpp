// The translation unit that compiles the precompiled headers (CMakeLists.txt: SRE_PCH).
