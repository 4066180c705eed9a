<?xml version="1.0" encoding="UTF-8"?>
<!--
  note-to-couch.xsl: a note of the example D-Bus notes app (org.example.Notes, as the dbus source
  publishes it) to a CouchDB document (as the couchdb sink writes it).

    object type  $note-type (default "note") -> $doc-type (default "memo")
    title -> subject
    body  -> text
    tags  -> keywords, a json array (so that CouchDB holds a list even for one tag)

  Other fields are dropped, as are their names in <changed>. Identity (atom id, origin, CSN, keys,
  tags, per-field CSNs) is kept; tombstones of notes get the document type. Entries of other types
  are dropped unless $other-types = 'copy'. The reverse is couch-to-note.xsl.
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

  <xsl:variable name="names" as="map(xs:string, xs:string)" select="map { 'title': 'subject', 'body': 'text', 'tags': 'keywords' }"/>

  <xsl:mode on-no-match="shallow-copy"/>

  <xsl:function name="local:is-note" as="xs:boolean">
    <xsl:param name="object" as="element(ps:object)?"/>
    <xsl:sequence select="string($object/@type) = $note-type"/>
  </xsl:function>

  <xsl:template match="atom:entry[not(local:is-note(atom:content/ps:object))]
                     | at:deleted-entry[not(local:is-note(ps:object))]">
    <xsl:if test="$other-types = 'copy'">
      <xsl:next-match/>
    </xsl:if>
  </xsl:template>

  <xsl:template match="atom:entry[local:is-note(atom:content/ps:object)]/atom:category[@scheme = 'urn:pubsync:type']/@term
                     | ps:object[local:is-note(.)]/@type">
    <xsl:attribute name="{local-name()}" select="$doc-type"/>
  </xsl:template>

  <xsl:template match="ps:object[local:is-note(.)]/ps:field[ps:name = ('title', 'body')][@type = 'string']">
    <xsl:copy>
      <xsl:copy-of select="@*"/>
      <ps:name>{$names(string(ps:name))}</ps:name>
      <xsl:copy-of select="ps:v"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="ps:object[local:is-note(.)]/ps:field[ps:name = 'tags'][@type = 'string']">
    <ps:field type="json" csn="{@csn}">
      <ps:name>keywords</ps:name>
      <ps:v>{serialize(array { ps:v ! string(.) }, map { 'method': 'json' })}</ps:v>
    </ps:field>
  </xsl:template>

  <xsl:template match="ps:object[local:is-note(.)]/ps:field" priority="-1"/>

  <xsl:template match="ps:object[local:is-note(.)]/ps:changed">
    <xsl:variable name="to" select="$names(string(.))"/>
    <xsl:if test="exists($to)">
      <ps:changed>{$to}</ps:changed>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
