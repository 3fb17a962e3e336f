package main

func (e *xtEnv) subscribe() {}
