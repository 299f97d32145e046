#compdef ringrift

_ringrift_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _RINGRIFT_COMPLETE=complete_zsh ringrift)
}

compdef _ringrift_completion ringrift
