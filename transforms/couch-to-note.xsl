<?xml version="1.0" encoding="UTF-8"?>
<!--
  couch-to-note.xsl: a CouchDB memo document (as the couchdb source publishes it) to a note of the
  example D-Bus notes app (as the dbus sink writes it). The reverse of note-to-couch.xsl.

    object type  $doc-type (default "memo") -> $note-type (default "note")
    subject  -> title
    text     -> body
    keywords -> tags, a multi-valued string field (D-Bus "as"); keywords may be a json array of
                strings or a plain string

  Other properties are dropped, as are their names in <changed>. Identity (atom id, origin, CSN,
  keys, tags, per-field CSNs) is kept; tombstones of memos get the note type. Entries of other types
  are dropped unless $other-types = 'copy'.
-->
<xsl:stylesheet version="3.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:at="http://purl.org/atompub/tombstones/1.0"
    xmlns:ps="urn:xmpp:pubsync:entry:1"
    xmlns:local="urn:pubsync:transforms:local"
    exclude-result-prefixes="#all" expand-text="yes">

  <xsl:param name="note-type" as="xs:string" select="'note'"/>
  <xsl:param name="doc-type" as="xs:string" select="'memo'"/>
  <xsl:param name="other-types" as="xs:string" select="'drop'"/>

  <xsl:variable name="names" as="map(xs:string, xs:string)" select="map { 'subject': 'title', 'text': 'body', 'keywords': 'tags' }"/>

  <xsl:mode on-no-match="shallow-copy"/>

  <xsl:function name="local:is-memo" as="xs:boolean">
    <xsl:param name="object" as="element(ps:object)?"/>
    <xsl:sequence select="string($object/@type) = $doc-type"/>
  </xsl:function>

  <xsl:template match="atom:entry[not(local:is-memo(atom:content/ps:object))]
                     | at:deleted-entry[not(local:is-memo(ps:object))]">
    <xsl:if test="$other-types = 'copy'">
      <xsl:next-match/>
    </xsl:if>
  </xsl:template>

  <xsl:template match="atom:entry[local:is-memo(atom:content/ps:object)]/atom:category[@scheme = 'urn:pubsync:type']/@term
                     | ps:object[local:is-memo(.)]/@type">
    <xsl:attribute name="{local-name()}" select="$note-type"/>
  </xsl:template>

  <xsl:template match="ps:object[local:is-memo(.)]/ps:field[ps:name = ('subject', 'text')][@type = 'string']">
    <xsl:copy>
      <xsl:copy-of select="@*"/>
      <ps:name>{$names(string(ps:name))}</ps:name>
      <xsl:copy-of select="ps:v"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="ps:object[local:is-memo(.)]/ps:field[ps:name = 'keywords'][@type = ('json', 'string')]">
    <ps:field type="string" csn="{@csn}">
      <ps:name>tags</ps:name>
      <xsl:for-each select="if (@type = 'json') then ps:v ! parse-json(.) ! (if (. instance of array(*)) then ?* else .) else ps:v ! string(.)">
        <ps:v>{.}</ps:v>
      </xsl:for-each>
    </ps:field>
  </xsl:template>

  <xsl:template match="ps:object[local:is-memo(.)]/ps:field" priority="-1"/>

  <xsl:template match="ps:object[local:is-memo(.)]/ps:changed">
    <xsl:variable name="to" select="$names(string(.))"/>
    <xsl:if test="exists($to)">
      <ps:changed>{$to}</ps:changed>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
