#!/usr/bin/env node
// The command's entry, committed so that installing the workspace can link it before a build;
// the program itself is built to dist/.
import '../dist/bin.js';
