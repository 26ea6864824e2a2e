// cmd_clean.h: strap data clean (cli/cmd_clean.c). argv[0] is "clean"; returns the exit status.
#pragma once

int cmd_data_clean(int argc, char **argv);
