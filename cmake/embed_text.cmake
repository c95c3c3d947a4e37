# Writes INPUT's bytes into OUTPUT as a C++ std::string_view constant NAME.
file(READ ${INPUT} CONTENT HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," BYTES "${CONTENT}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace opsgate::app {\nstatic const char kBytes[] = {${BYTES} '\\0'};\nextern const std::string_view ${NAME}{kBytes, sizeof(kBytes) - 1};\n}\n")
