<?xml version="1.0" encoding="UTF-8"?>
<!--
  identity.xsl: maps nothing. Every entry and tombstone of the batch comes out exactly as it went
  in (a copy of the whole atom:feed). The baseline for benchmarks and the template to start a
  mapping from: override the templates for what should change, the rest passes through.
-->
<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:mode on-no-match="shallow-copy"/>
</xsl:stylesheet>
